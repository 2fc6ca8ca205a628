import { beforeAll, describe, expect, test } from "bun:test";
import Ajv2020 from "ajv/dist/2020.js";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { getLlama, LlamaLogLevel, type Llama, type LlamaGrammar } from "node-llama-cpp";
import { compileJsonSchema } from "../../src/engine/json-schema/compile.ts";
import { SchemaError } from "../../src/engine/json-schema/errors.ts";

// Each schema is compiled and handed to llama.cpp, which then judges whole texts against the grammar
// (node-llama-cpp's internal _testText: a full match in llama.cpp's own grammar engine). Every text
// the grammar accepts must validate with ajv; the listed valid texts must be accepted, so that the
// grammar is not vacuous; the invalid ones must be refused.
let llama: Llama;
const ajv = addFormats(new Ajv2020({ strict: false }));
const ajv7 = addFormats(new Ajv({ strict: false }));

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
});

async function grammarOf(schema: unknown): Promise<(text: string) => boolean> {
  const grammar: LlamaGrammar = await llama.createGrammar({ grammar: compileJsonSchema(schema) });
  return (text) => (grammar as unknown as { _testText(text: string): boolean })._testText(text);
}

function validator(schema: unknown, draft7 = false) {
  return (draft7 ? ajv7 : ajv).compile(schema as object);
}

async function expectEnforced(schema: unknown, valid: string[], invalid: string[], draft7 = false) {
  const accepts = await grammarOf(schema);
  const validate = validator(schema, draft7);
  for (const text of valid) {
    expect({ text, valid: validate(JSON.parse(text)) }).toEqual({ text, valid: true });
    expect({ text, accepted: accepts(text) }).toEqual({ text, accepted: true });
  }
  for (const text of invalid) expect({ text, accepted: accepts(text) }).toEqual({ text, accepted: false });
}

/** Every accepted text among the candidates validates, and (when given) exactly the expected ones are accepted. */
async function expectSound(schema: unknown, candidates: string[], expected?: (value: unknown) => boolean) {
  const accepts = await grammarOf(schema);
  const validate = validator(schema);
  for (const text of candidates) {
    const accepted = accepts(text);
    if (accepted) expect({ text, valid: validate(JSON.parse(text)) }).toEqual({ text, valid: true });
    if (expected) expect({ text, accepted }).toEqual({ text, accepted: expected(JSON.parse(text)) });
  }
}

function refusal(schema: unknown): { kind: string; path: string; message: string } {
  try {
    compileJsonSchema(schema);
  } catch (err) {
    if (err instanceof SchemaError) return { kind: err.kind, path: err.path, message: err.message };
    throw err;
  }
  throw new Error("the schema compiled");
}

const integersFrom = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i));

describe("integers", () => {
  test.each([
    [{ minimum: 1, maximum: 9 }, (n: number) => n >= 1 && n <= 9],
    [{ maximum: 5, minimum: -40 }, (n: number) => n <= 5 && n >= -40],
    [{ minimum: -120, maximum: -3 }, (n: number) => n >= -120 && n <= -3],
    [{ exclusiveMinimum: -5, exclusiveMaximum: 5 }, (n: number) => n > -5 && n < 5],
    [{ minimum: 1.5, maximum: 99.5 }, (n: number) => n >= 2 && n <= 99],
    [{ minimum: -250, maximum: 300, multipleOf: 7 }, (n: number) => n % 7 === 0 && n >= -250 && n <= 300],
    [{ minimum: 0, multipleOf: 13 }, (n: number) => n % 13 === 0 && n >= 0],
    [{ multipleOf: 4 }, (n: number) => n % 4 === 0],
  ])("%j: exactly the integers in range, as digit-range rules", async (bounds, inRange) => {
    await expectSound({ type: "integer", ...bounds }, integersFrom(-400, 400), (v) => inRange(v as number));
  });

  test("one-sided bounds reach to the safe integers, and no further", async () => {
    await expectEnforced({ type: "integer", minimum: 10 }, ["10", "9007199254740991"], ["9", "9007199254740992", "10.0", "1e3"]);
    await expectEnforced({ type: "integer", maximum: 5 }, ["5", "-9007199254740991"], ["6", "-9007199254740992"]);
    await expectEnforced({ type: "integer" }, ["0", "-12", "123456789012345"], ["-0", "01", "1.5"]);
    await expectEnforced({ type: "integer", format: "int32" }, ["2147483647", "-2147483648"], ["2147483648"]);
  });
});

describe("numbers", () => {
  const decimals = ["-2", "-1.6", "-1.5", "-1.50", "-1.4999", "-0", "-0.0", "0", "0.0", "0.5", "1", "2", "2.2", "2.249999", "2.25", "2.250", "2.3", "3", "1e0", "-1.5000001"];

  test("bounds with fractions: only decimals inside them, never -0", async () => {
    const inRange = (v: unknown) => (v as number) >= -1.5 && (v as number) < 2.25;
    await expectSound({ type: "number", minimum: -1.5, exclusiveMaximum: 2.25 }, decimals.filter((d) => d !== "-0" && d !== "-0.0" && d !== "1e0" && d !== "-1.5000001"), inRange);
    await expectEnforced({ type: "number", minimum: -1.5, exclusiveMaximum: 2.25 }, ["-1.5", "2.249999", "0.125"], ["-0", "2.25", "-1.5000001", "1e0"]);
  });

  test("draft 4's boolean exclusive bounds, and tiny exclusive ranges", async () => {
    // ajv has no draft 4 here: the texts are checked by hand
    const accepts = await grammarOf({ type: "number", minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true });
    expect(["0.5", "0.000001", "0", "1", "0.0", "0.999999"].filter(accepts)).toEqual(["0.5", "0.000001", "0.999999"]);
    await expectEnforced({ type: "number", exclusiveMinimum: 0, exclusiveMaximum: 0.001 }, ["0.0005", "0.000999"], ["0.001", "0", "0.0010"]);
  });

  test("bounds beyond what decimals can hold keep to integers; no bounds is any JSON number", async () => {
    await expectEnforced({ type: "number", minimum: 1e12 }, ["1000000000000", "9007199254740991"], ["999999999999", "1000000000000.5"]);
    await expectEnforced({ type: "number" }, ["-1.5e10", "0", "3.25", "1E-2"], ["1e999", ".5", "+1", "NaN"]);
    await expectEnforced({ type: "number", multipleOf: 1, maximum: 3 }, ["3", "-7"], ["1.5", "4"]);
  });
});

describe("strings", () => {
  test("pattern: anchors, classes, escapes, quantifiers, groups and alternation", async () => {
    await expectEnforced({ type: "string", pattern: "^[A-Z]{3}-[0-9]{2}$" }, ['"ABC-12"', '"XYZ-00"'], ['"abc-12"', '"ABC-123"', '"AB-12"', '":aperhis"']);
    await expectEnforced({ type: "string", pattern: "^(?:ab|c[de]+)?x\\d{1,3}\\.\\w\\s?$" }, ['"x1.a"', '"abx123.Z "', '"cddex7._\\t"'], ['"x1234.a"', '"abcx1.a"', '"x1a"']);
    await expectEnforced({ type: "string", pattern: "^(?<year>\\d{4})-(0[1-9]|1[0-2])$" }, ['"2024-12"'], ['"2024-13"']);
    await expectEnforced({ type: "string", pattern: "^a*?b+c?$" }, ['"b"', '"aabbc"'], ['"ac"']);
  });

  test("a pattern without anchors is a search: a whole match is generated, which always contains one", async () => {
    await expectEnforced({ type: "string", pattern: "[0-9]{2}" }, ['"42"'], ['"4"', '"x42"']);
  });

  test("characters JSON must escape are escaped, and escapes count as one character", async () => {
    await expectEnforced({ type: "string", pattern: '^["\\\\\\n\\t]{1,2}$' }, ['"\\""', '"\\\\\\n"', '"\\t\\t"'], ['"\\u0022"', '"\\"\\"\\""']);
    await expectEnforced({ type: "string", minLength: 2, maxLength: 3 }, ['"ab"', '"\\u00e9\\n"', '"😀😀😀"'], ['"a"', '"abcd"', '"\\ud83d\\ude00"']);
  });

  test("pattern, format and lengths together are their intersection", async () => {
    await expectEnforced({ type: "string", pattern: "^[a-z]+$", minLength: 2, maxLength: 4 }, ['"ab"', '"abcd"'], ['"a"', '"abcde"', '"AB"']);
    const zodUuid = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$";
    await expectEnforced({ type: "string", format: "uuid", pattern: zodUuid }, ['"123e4567-e89b-12d3-a456-426614174000"'], ['"123e4567-e89b-02d3-a456-426614174000"', '""']);
  });

  test.each([
    ["date-time", ['"2024-02-28T23:59:59Z"', '"1999-12-31T00:00:00.123+05:30"'], ['"2024-02-30T00:00:00Z"', '"2024-01-01T24:00:00Z"', '"2024-01-01T00:00:00"']],
    ["date", ['"2024-04-30"', '"0001-01-01"'], ['"2024-04-31"', '"2024-02-29"', '"24-01-01"']],
    ["time", ['"12:34:56Z"', '"23:59:59.5-08:00"'], ['"12:34:56"', '"12:60:00Z"']],
    ["duration", ['"P3D"', '"PT1H30M"', '"P1Y2M3DT4H5M6S"', '"P2W"'], ['"P"', '"PT"', '"P1DT"', '"1D"']],
    ["email", ['"a.b@example.com"', '"x+y@mail.co.uk"'], ['"a@b"', '"a..b@example.com"', '"@example.com"']],
    ["hostname", ['"example.com"', '"a-b.c"'], ['"-a.com"', '"a_b.com"']],
    ["ipv4", ['"192.168.0.1"', '"0.0.0.0"'], ['"256.1.1.1"', '"01.1.1.1"']],
    ["ipv6", ['"2001:db8:0:0:0:0:0:1"', '"::1"', '"fe80::1"', '"1:2::"'], ['"1:2:3"', '":::"']],
    ["uuid", ['"123e4567-e89b-12d3-a456-426614174000"'], ['"123e4567e89b12d3a456426614174000"', '""']],
    ["uri", ['"https://example.com/a/b"', '"http://x.y"'], ['"example.com"', '"https://"']],
  ])("format %s", async (format, valid, invalid) => {
    await expectEnforced({ type: "string", format }, valid, invalid);
  });

  test("a maxLength beyond llama.cpp's repetition limit is split, not silently unbounded", async () => {
    const accepts = await grammarOf({ type: "string", maxLength: 4500 });
    for (const n of [0, 999, 1000, 2001, 3999, 4000, 4500]) expect(accepts(JSON.stringify("a".repeat(n)))).toBe(true);
    expect(accepts(JSON.stringify("a".repeat(4501)))).toBe(false);
  });
});

describe("enum, const and types", () => {
  test("enum of mixed types, const, and the keywords beside them", async () => {
    await expectEnforced({ enum: ["a", 1, null, true, { x: [1] }, 2.5] }, ['"a"', "1", "null", "true", '{"x":[1]}', "2.5"], ['"b"', "false", "{}"]);
    await expectEnforced({ const: { a: "b", n: [1, 2] } }, ['{"a":"b","n":[1,2]}'], ['{"a":"c","n":[1,2]}']);
    await expectEnforced({ type: "string", enum: ["a", "bb", 3], maxLength: 1 }, ['"a"'], ['"bb"', "3"]);
  });

  test("type arrays, nullable as anyOf, booleans and null", async () => {
    await expectEnforced({ type: ["string", "null"], maxLength: 2 }, ['"ab"', "null"], ['"abc"', "1"]);
    await expectEnforced({ anyOf: [{ type: "integer", minimum: 0, maximum: 3 }, { type: "null" }] }, ["3", "null"], ["4", '"x"']);
    await expectEnforced({ type: "boolean" }, ["true", "false"], ["null", '"true"']);
  });

  test("true and {} are any JSON value; false is refused", async () => {
    await expectEnforced(true, ['{"a":[1,{"b":null}],"c":"d"}', "1.5", '"x"'], ["{,}", "[1,]"]);
    await expectEnforced({}, ["[]", "null"], ["nul"]);
    expect(refusal(false)).toMatchObject({ kind: "unenforceable", message: "the schema false allows no value" });
  });
});

describe("objects and arrays", () => {
  test("required properties always, optional ones may be left out, in declared order; no extras unless allowed", async () => {
    const schema = { type: "object", properties: { a: { type: "string", maxLength: 2 }, b: { type: "integer", minimum: 0, maximum: 9 }, c: { type: "boolean" } }, required: ["b"], additionalProperties: false };
    await expectEnforced(schema, ['{"b":1}', '{"a":"x","b":2}', '{ "a": "x", "b": 2, "c": true }', '{"b":3,"c":false}', '{\n  "b": 4\n}'], ['{"a":"x"}', '{}', '{"b":1,"d":2}', '{"b":1,"b":2}']);
  });

  test("additionalProperties true or a schema: extra keys never spell a declared one", async () => {
    const schema = { type: "object", properties: { a: { type: "boolean" } }, required: ["a"], additionalProperties: { type: "integer", minimum: 0, maximum: 9 } };
    await expectEnforced(schema, ['{"a":true}', '{"a":true,"b":1,"ab":2}'], ['{"a":true,"a":3}', '{"a":true,"b":"x"}', '{"a":true,"\\u0061":1}']);
    await expectEnforced({ type: "object" }, ['{"x":[1,2],"y":{}}', "{}"], ["[]"]);
    await expectEnforced({ type: "object", properties: { 'a"b': { type: "null" } }, additionalProperties: { type: "null" } }, ['{"a\\"b":null}', '{"a":null}'], ['{"a\\"b":1}']);
    await expectEnforced({ type: "object", properties: { a: { type: "null" } } }, ['{"a":null}', "{}"], ['{"b":1}']);
  });

  test("a property named like a keyword is a property", async () => {
    await expectEnforced({ type: "object", properties: { type: { enum: ["x"] }, required: { type: "boolean" } }, required: ["type"] }, ['{"type":"x"}', '{"type":"x","required":true}'], ['{"type":"y"}']);
  });

  test("items, minItems, maxItems; prefixItems and items false; draft 7's array items and additionalItems", async () => {
    await expectEnforced({ type: "array", items: { type: "integer", minimum: 0, maximum: 9 }, minItems: 1, maxItems: 3 }, ["[1]", "[1, 2,3]"], ["[]", "[1,2,3,4]", "[10]", "[1,]"]);
    await expectEnforced({ type: "array", prefixItems: [{ type: "integer", minimum: 0, maximum: 5 }, { type: "string", maxLength: 2 }], items: false, minItems: 1 }, ["[5]", '[0,"ab"]'], ["[]", '[0,"ab",1]', '["ab"]']);
    await expectEnforced({ type: "array", items: [{ type: "null" }], additionalItems: { type: "boolean" }, maxItems: 3 }, ["[]", "[null]", "[null,true,false]"], ["[true]", "[null,true,false,true]"], true);
    await expectEnforced({ type: "array", uniqueItems: false, maxItems: 1 }, ["[]", '["x"]'], ["[1,2]"]);
  });

  test("allOf of objects is merged, additionalProperties included", async () => {
    const schema = { allOf: [{ type: "object", properties: { a: { type: "string", maxLength: 4 } }, required: ["a"], additionalProperties: false }, { properties: { a: { maxLength: 2 }, b: { type: "boolean" } } }] };
    await expectEnforced(schema, ['{"a":"xy"}'], ['{"a":"xyz"}', '{"a":"x","b":true}']);
    const withRef = { $defs: { base: { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: 3 } }, required: ["id"] } }, $ref: "#/$defs/base", properties: { name: { type: "string", maxLength: 3 } }, required: ["name"] };
    await expectEnforced(withRef, ['{"id":1,"name":"x"}'], ['{"id":1}', '{"id":4,"name":"x"}']);
  });

  test("anyOf of objects, and oneOf whose branches a const discriminator tells apart", async () => {
    const anyOf = { anyOf: [{ type: "object", properties: { a: { type: "integer" } }, required: ["a"], additionalProperties: false }, { type: "object", properties: { b: { type: "string", maxLength: 3 } }, required: ["b"], additionalProperties: false }] };
    await expectEnforced(anyOf, ['{"a":1}', '{"b":"x"}'], ["null", "{}", '{"a":1,"b":"x"}']);
    const oneOf = { oneOf: [{ type: "object", properties: { kind: { const: "a" }, n: { type: "integer" } }, required: ["kind", "n"] }, { type: "object", properties: { kind: { const: "b" } }, required: ["kind"] }] };
    await expectEnforced(oneOf, ['{"kind":"a","n":1}', '{"kind":"b"}'], ['{"kind":"c"}', '{"kind":"a"}']);
  });

  test("$ref into $defs and definitions, recursive rules, and anyOf beside properties", async () => {
    const tree = { $defs: { node: { type: "object", properties: { v: { type: "integer" }, kids: { type: "array", items: { $ref: "#/$defs/node" } } }, required: ["v"], additionalProperties: false } }, $ref: "#/$defs/node" };
    await expectEnforced(tree, ['{"v":1}', '{"v":1,"kids":[{"v":2,"kids":[{"v":3}]},{"v":4}]}'], ['{"v":1,"kids":[{}]}']);
    await expectEnforced({ definitions: { s: { type: "string", maxLength: 1 } }, type: "array", items: { $ref: "#/definitions/s" } }, ['["a","b"]'], ['["ab"]'], true);
    await expectEnforced({ type: "object", properties: { next: { $ref: "#" } }, additionalProperties: false }, ['{"next":{"next":{}}}'], ['{"next":1}']);
  });
});

describe("refusals name the keyword and where it is", () => {
  test.each([
    [{ type: "object", properties: { a: { type: "array", uniqueItems: true } } }, ".properties.a.uniqueItems"],
    [{ not: { type: "string" } }, ".not"],
    [{ if: { type: "string" }, then: { maxLength: 3 } }, ".if"],
    [{ type: "object", patternProperties: { "^a": {} } }, ".patternProperties"],
    [{ type: "object", dependentSchemas: { a: { required: ["b"] } } }, ".dependentSchemas"],
    [{ type: "object", dependentRequired: { a: ["b"] } }, ".dependentRequired"],
    [{ type: "object", propertyNames: { maxLength: 3 } }, ".propertyNames"],
    [{ type: "array", contains: { type: "string" } }, ".contains"],
    [{ type: "object", unevaluatedProperties: false }, ".unevaluatedProperties"],
    [{ type: "object", properties: { a: { type: "string" } }, minProperties: 1 }, ".minProperties"],
    [{ type: "object", additionalProperties: true, maxProperties: 3 }, ".maxProperties"],
    [{ type: "string", pattern: "^(?=a)a+$" }, ".pattern"],
    [{ type: "string", pattern: "^(a)\\1$" }, ".pattern"],
    [{ type: "string", pattern: "\\bword\\b" }, ".pattern"],
    [{ type: "string", pattern: "^\\p{L}+$" }, ".pattern"],
    [{ type: "string", pattern: "a^b" }, ".pattern"],
    [{ type: "string", format: "credit-card" }, ".format"],
    [{ type: "number", multipleOf: 0.01 }, ".multipleOf"],
    [{ type: "string", minLength: 100000 }, ".minLength"],
    [{ oneOf: [{ type: "string" }, { type: "string", maxLength: 3 }] }, ".oneOf"],
    [{ oneOf: [{ type: "number" }, { type: "integer" }] }, ".oneOf"],
    [{ $ref: "https://example.com/schema.json" }, ".$ref"],
    [{ $defs: { a: { $ref: "#/$defs/b" }, b: { $ref: "#/$defs/a" } }, $ref: "#/$defs/a" }, ".$ref"],
    [{ type: "object", properties: { next: { $ref: "#" } }, required: ["next"] }, ".properties.next.$ref"],
    [{ $defs: { a: { anyOf: [{ $ref: "#/$defs/a" }, { type: "string" }] } }, $ref: "#/$defs/a" }, ".$ref"],
    [{ allOf: [{ type: "object", properties: { a: {} }, required: ["a"], additionalProperties: false }, { properties: { b: {} }, required: ["b"] }] }, ".allOf[0].additionalProperties"],
  ])("%j is refused at %s", (schema, path) => {
    expect(refusal(schema)).toMatchObject({ kind: "unenforceable", path });
  });

  test("messages say why", () => {
    expect(refusal({ type: "array", uniqueItems: true }).message).toBe("uniqueItems cannot be enforced by a grammar");
    expect(refusal({ type: "string", pattern: "^(?=a)a$" }).message).toContain("lookaround assertions");
    expect(refusal({ $defs: { a: { $ref: "#/$defs/a" } }, $ref: "#/$defs/a" }).message).toContain("circular");
    expect(refusal({ type: "integer", minimum: 5, maximum: 3 }).message).toBe("no integer satisfies its minimum, maximum and multipleOf together");
  });

  test.each([
    [{ type: "object", properties: { a: { type: "frobnicate" } } }, ".properties.a.type", '"frobnicate" is not a JSON schema type'],
    [{ type: "string", pattern: "^[a-$" }, ".pattern", "is not a valid regular expression"],
    [{ $ref: "#/$defs/missing" }, ".$ref", 'dangling $ref: "#/$defs/missing" points to nothing in the schema'],
    [{ type: "object", required: "a" }, ".required", "required must be an array of strings"],
    [{ type: "string", maxLength: -1 }, ".maxLength", "maxLength must be a non-negative integer"],
  ])("a malformed schema is invalid, not unenforceable: %j", (schema, path, message) => {
    const err = refusal(schema);
    expect(err).toMatchObject({ kind: "invalid", path });
    expect(err.message).toContain(message);
  });
});
