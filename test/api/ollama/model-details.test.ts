import { expect, test } from "bun:test";
import { humanNumber } from "../../../src/api/ollama/model-details.ts";

test.each([
  // Ollama's own cases (format/format_test.go)
  [0, "0"],
  [999, "999"],
  [1000, "1K"],
  [1001, "1K"],
  [1000000, "1M"],
  [125000000, "125M"],
  [500500000, "500.50M"],
  [500550000, "500.55M"],
  [1000000000, "1B"],
  [2800000000, "2.8B"],
  [2850000000, "2.9B"],
  [1000000000000, "1000B"],
  // real models as Ollama lists them
  [751632384, "751.63M"],
  [7615616512, "7.6B"],
  // exact ties round to even, as Go's %f does (toFixed would round them up)
  [1500, "2K"],
  [2500, "2K"],
  [1250000000, "1.2B"],
  [1750000000, "1.8B"],
  [1125000, "1.12M"],
])("%d parameters are %s", (n, text) => {
  expect(humanNumber(n)).toBe(text);
});
