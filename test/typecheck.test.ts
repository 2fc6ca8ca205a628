import { expect, test } from "bun:test";
import { join } from "node:path";

test("the whole tree typechecks, with unused code flagged (npm run typecheck)", async () => {
  const root = join(import.meta.dir, "..");
  const proc = Bun.spawn({ cmd: [join(root, "node_modules", ".bin", "tsc"), "--noEmit", "-p", root], cwd: root, stdout: "pipe", stderr: "pipe" });
  const [code, out] = [await proc.exited, await new Response(proc.stdout).text()];
  expect(out).toBe("");
  expect(code).toBe(0);
});
