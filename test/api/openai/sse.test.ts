import { expect, test } from "bun:test";
import { sseResponse } from "../../../src/api/openai/sse.ts";
import { InvalidRequestError } from "../../../src/errors.ts";

test("an error after streaming began becomes a final data: {error} event instead of [DONE]", async () => {
  async function* chunks() {
    yield { n: 1 };
    throw new InvalidRequestError("grammar broke", "response_format");
  }
  const res = sseResponse(chunks());
  expect(res.status).toBe(200);
  const events = (await res.text()).split("\n\n").filter(Boolean);
  expect(events[0]).toBe('data: {"n":1}');
  expect(JSON.parse(events[1]!.replace(/^data: /, ""))).toEqual({ error: { message: "grammar broke", type: "invalid_request_error", param: "response_format", code: null } });
  expect(events).toHaveLength(2);
});

test("a normal stream ends with data: [DONE]", async () => {
  async function* chunks() {
    yield { n: 1 };
  }
  expect(await sseResponse(chunks()).text()).toBe('data: {"n":1}\n\ndata: [DONE]\n\n');
});
