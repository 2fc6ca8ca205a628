// Request pieces shared by the OpenAI and Ollama end-to-end tests.

/**
 * A JSON schema with every kind of constraint a grammar must enforce: types, required, bounds, no
 * extras. The string lengths also bound what random weights can ramble into a string, so that
 * seeded sampling finishes the object within the tests' token limits.
 */
export const PERSON_SCHEMA = {
  type: "object",
  properties: { name: { type: "string", maxLength: 16 }, age: { type: "integer" }, tags: { type: "array", items: { type: "string", maxLength: 16 }, maxItems: 3 } },
  required: ["name", "age", "tags"],
  additionalProperties: false,
};

/** The function the `tool` preset is scripted to call, in OpenAI's and Ollama's tool shape. */
export const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
