import { expect, test } from "bun:test";
import { join } from "node:path";

test("openapi.yaml is what the running app generates (npm run openapi:check)", async () => {
  const proc = Bun.spawn({ cmd: [process.execPath, "scripts/openapi.ts", "--check"], cwd: join(import.meta.dir, "..", ".."), stdout: "pipe", stderr: "pipe" });
  const [code, err] = [await proc.exited, await new Response(proc.stderr).text()];
  expect(err).toBe("");
  expect(code).toBe(0);
});
