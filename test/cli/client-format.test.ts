import { describe, expect, test } from "bun:test";
import { etaText, humanBytes, humanTime, table } from "../../src/cli/client/format.ts";
import { serverUrl } from "../../src/cli/client/host.ts";
import { UsageError } from "../../src/cli/options.ts";

describe("humanBytes (Ollama's format.HumanBytes)", () => {
  test.each([
    [0, "0 B"],
    [999, "999 B"],
    [1000, "1 KB"],
    [1500, "1.5 KB"],
    [999_999, "999 KB"],
    [1_000_000, "1 MB"],
    [339_008, "339 KB"],
    [7_661_568, "7.7 MB"],
    [1_117_000_000, "1.1 GB"],
    [12_345_678_901, "12 GB"],
    [2_000_000_000_000, "2 TB"],
  ])("%d → %s", (bytes, text) => {
    expect(humanBytes(bytes)).toBe(text);
  });
});

describe("humanTime (Ollama's format.HumanTime)", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  const at = (ms: number) => humanTime(new Date(now + ms), now);
  test("past and future", () => {
    expect(at(-500)).toBe("Less than a second ago");
    expect(at(-1000)).toBe("1 second ago");
    expect(at(-30_000)).toBe("30 seconds ago");
    expect(at(-61_000)).toBe("About a minute ago");
    expect(at(-2 * 60_000)).toBe("2 minutes ago");
    expect(at(-90 * 60_000)).toBe("2 hours ago");
    expect(at(-3 * 86_400_000)).toBe("3 days ago");
    expect(at(-15 * 86_400_000)).toBe("2 weeks ago");
    expect(at(-90 * 86_400_000)).toBe("3 months ago");
    expect(at(-800 * 86_400_000)).toBe("2 years ago");
    expect(at(4 * 60_000 + 30_000)).toBe("4 minutes from now");
    expect(at(55 * 60_000)).toBe("55 minutes from now");
  });
  test("a model kept loaded forever (about 292 years away) is Forever", () => {
    expect(at(2 ** 63 / 1e6)).toBe("Forever");
  });
});

test("etaText: at most two units, as Ollama's bars show time left", () => {
  expect(etaText(0)).toBe("0s");
  expect(etaText(6)).toBe("6s");
  expect(etaText(90)).toBe("1m30s");
  expect(etaText(600)).toBe("10m0s");
  expect(etaText(3600 + 5 * 60 + 9)).toBe("1h5m");
  expect(etaText(100 * 3600)).toBe("99h+");
});

test("table: left-aligned columns four spaces apart, long cells wrapped", () => {
  expect(table([["a", "bbb"], ["cccc", "d"]], { header: ["NAME", "ID"] })).toBe("NAME    ID\na       bbb\ncccc    d\n");
  expect(table([["", "k", "one two three"]], { wrapWidth: 7 })).toBe("    k    one two\n         three\n");
});

describe("serverUrl: HEARTH_HOST read as Ollama reads OLLAMA_HOST", () => {
  const url = (env: Record<string, string>) => serverUrl(env);
  test("defaults", () => {
    expect(url({})).toBe("http://127.0.0.1:11435");
    expect(url({ HEARTH_PORT: "8080" })).toBe("http://127.0.0.1:8080");
  });
  test("host, host:port, IPv6", () => {
    expect(url({ HEARTH_HOST: "example.com" })).toBe("http://example.com:11435");
    expect(url({ HEARTH_HOST: "example.com", HEARTH_PORT: "9000" })).toBe("http://example.com:9000");
    expect(url({ HEARTH_HOST: "10.0.0.5:1234", HEARTH_PORT: "9000" })).toBe("http://10.0.0.5:1234");
    expect(url({ HEARTH_HOST: "[::1]:1234" })).toBe("http://[::1]:1234");
    expect(url({ HEARTH_HOST: "fe80::1" })).toBe("http://[fe80::1]:11435");
  });
  test("a scheme: its own default port, and a path for servers behind a proxy", () => {
    expect(url({ HEARTH_HOST: "https://llm.example.com" })).toBe("https://llm.example.com:443");
    expect(url({ HEARTH_HOST: "http://llm.example.com" })).toBe("http://llm.example.com:80");
    expect(url({ HEARTH_HOST: "https://llm.example.com:8443/hearth/" })).toBe("https://llm.example.com:8443/hearth");
  });
  test("wildcard listen addresses connect to the loopback address", () => {
    expect(url({ HEARTH_HOST: "0.0.0.0" })).toBe("http://127.0.0.1:11435");
    expect(url({ HEARTH_HOST: "0.0.0.0:8080" })).toBe("http://127.0.0.1:8080");
    expect(url({ HEARTH_HOST: "::" })).toBe("http://[::1]:11435");
    expect(url({ HEARTH_HOST: "[::]:8080" })).toBe("http://[::1]:8080");
  });
  test("bad ports and schemes are usage errors", () => {
    expect(() => url({ HEARTH_HOST: "localhost:99999" })).toThrow(UsageError);
    expect(() => url({ HEARTH_PORT: "abc" })).toThrow(UsageError);
    expect(() => url({ HEARTH_HOST: "ftp://x" })).toThrow(UsageError);
  });
});
