import { describe, expect, test } from "bun:test";
import { pointerToParam } from "../../src/api/validation.ts";

describe("pointerToParam", () => {
  test("turns JSON pointers into OpenAI's dotted param names", () => {
    expect(pointerToParam("/model")).toBe("model");
    expect(pointerToParam("/messages/0/content/2/text")).toBe("messages[0].content[2].text");
    expect(pointerToParam("/response_format/json_schema/a~1b")).toBe("response_format.json_schema.a/b");
    expect(pointerToParam("")).toBe("");
  });
});
