import { charsOf } from "./charset.ts";
import { provablyDisjoint } from "./disjoint.ts";
import { childPath, invalid, unenforceable, type SchemaError } from "./errors.ts";
import { formatPattern, numericFormat } from "./formats.ts";
import { alt, chars, EMPTY, Grammar, lit, opt, ref, rep, seq, type Node } from "./gbnf.ts";
import { checkKeywords, hasAssertions, inferredTypes } from "./keywords.ts";
import { checkLiteral } from "./literals.ts";
import { mergeMembers, sameJson, withNumericExclusives, type Member, type SchemaObject } from "./merge.ts";
import { NumberRangeError, numberNode, type Limit } from "./numbers.ts";
import { resolveRef } from "./refs.ts";
import { keyNotAmong, stringNode } from "./strings.ts";

/**
 * minLength / minItems above llama.cpp's own repetition limit are refused: such a minimum forces
 * thousands of tokens out of the model before it may stop. (Maximums that large are split into chunks.)
 */
const MAX_MINIMUM = 2000;
/** anyOf × oneOf × … combinations expanded before giving up */
const MAX_BRANCHES = 64;
const MAX_NESTED_BRANCHES = 16;

/**
 * Compiles a JSON schema into GBNF for llama.cpp: every keyword either becomes part of the grammar
 * or is refused with the path to it, so whatever the model finishes generating validates.
 * `trailer` is literal text the root must be followed by (node-llama-cpp's end of function parameters).
 */
export function compileJsonSchema(schema: unknown, trailer?: string): string {
  const compiler = new Compiler(schema);
  const root = compiler.value(schema, "", "value");
  if (!root) throw compiler.why ?? unenforceable("", "no JSON value satisfies this schema");
  return compiler.grammar.toGbnf(trailer ? seq(root, lit(trailer)) : root);
}

class Compiler {
  readonly grammar = new Grammar();
  private readonly refRules = new Map<string, string>();
  private anyValue?: Node;
  /** why the last schema found to allow no value allows none, for the error when that matters */
  why?: SchemaError;
  private readonly ws: Node;

  constructor(private readonly root: unknown) {
    // at most one newline per stretch of whitespace, never two stretches in a row: "\n\n\n\n" (which
    // ends function parameters) cannot appear inside a value, and a rambling model cannot pad forever
    this.ws = this.grammar.rule("ws", alt(EMPTY, lit(" "), seq(lit("\n"), rep(chars(charsOf("\t ")), 0, 20))));
  }

  /** The grammar for values valid against schema, or null when none is. */
  value(schema: unknown, path: string, hint: string): Node | null {
    if (schema === true) return this.any();
    if (schema === false) return this.nothing(path, "the schema false allows no value");
    const s = this.checked(schema, path);
    if (typeof s.$ref === "string" && !hasAssertions(s, "$ref")) return this.reference(s.$ref, path);
    if (s.$ref !== undefined || s.allOf !== undefined || s.anyOf !== undefined || s.oneOf !== undefined) return this.combined([{ schema: s, path }], hint);
    return this.basic(s, path, hint);
  }

  /** A rule per $ref target, compiled once: recursive schemas become recursive rules. */
  private reference(refValue: string, path: string): Node {
    const target = resolveRef(this.root, refValue, childPath(path, "$ref"));
    let name = this.refRules.get(target.path);
    if (!name) {
      name = this.grammar.reserve(target.name, childPath(path, "$ref"));
      this.refRules.set(target.path, name);
      const body = this.value(target.schema, target.path, target.name);
      if (!body) throw unenforceable(childPath(path, "$ref"), `no JSON value satisfies the schema ${JSON.stringify(refValue)} refers to`);
      this.grammar.define(name, body);
    }
    return ref(name);
  }

  /** allOf members (a $ref with constraints beside it is one too) merged; anyOf / oneOf branches as alternatives. */
  private combined(members: Member[], hint: string, depth = 0): Node | null {
    const path = members[0]!.path;
    // branches are merged with what surrounds them; through $refs that could go on forever
    if (depth > MAX_NESTED_BRANCHES) throw unenforceable(path, "anyOf / oneOf nest through $refs too deeply; is a $ref circular?");
    const { base, groups } = mergeMembers(members.flatMap((m) => this.flattened(m, [])));
    if (base === false) return this.nothing(path, "the allOf members (or the schemas beside an anyOf / oneOf) contradict each other");
    if (groups.length === 0) return this.basic(base, path, hint);
    for (const group of groups) if (group.keyword === "oneOf") this.checkDisjoint(group.branches, group.path);
    let combinations: Member[][] = [[]];
    for (const group of groups) {
      combinations = combinations.flatMap((chosen) => group.branches.map((branch, i) => [...chosen, { schema: branch, path: childPath(group.path, i) }]));
      if (combinations.length > MAX_BRANCHES) throw unenforceable(group.path, `the combinations of anyOf / oneOf branches exceed ${MAX_BRANCHES}`);
    }
    const nodes = combinations.flatMap((chosen, i) => {
      // a lone branch with nothing beside it stays as written, so a $ref branch stays a (possibly recursive) rule
      const node = !hasAssertions(base) && chosen.length === 1 ? this.value(chosen[0]!.schema, chosen[0]!.path, `${hint}-${i}`) : this.combined([{ schema: base, path }, ...chosen], `${hint}-${i}`, depth + 1);
      return node ? [node] : [];
    });
    return nodes.length ? alt(...nodes) : null;
  }

  /** The member with its $ref and allOf replaced by what they stand for (the members to merge); `inlining`: the $refs being replaced. */
  private flattened(member: Member, inlining: string[]): Member[] {
    if (typeof member.schema !== "object" || member.schema === null) return [member];
    const s = this.checked(member.schema, member.path);
    const { $ref, allOf, ...rest } = s;
    // the referenced schema first: its properties come first, as a base type's do
    const out: Member[] = [];
    if ($ref !== undefined) {
      const target = resolveRef(this.root, $ref, childPath(member.path, "$ref"));
      if (inlining.includes(target.path)) throw unenforceable(childPath(member.path, "$ref"), "this $ref is circular: it includes itself through allOf");
      out.push(...this.flattened({ schema: target.schema, path: target.path }, [...inlining, target.path]));
    }
    out.push({ schema: rest, path: member.path });
    if (allOf !== undefined) (allOf as unknown[]).forEach((m, i) => out.push(...this.flattened({ schema: m, path: childPath(childPath(member.path, "allOf"), i) }, inlining)));
    return out;
  }

  private checkDisjoint(branches: unknown[], path: string): void {
    const inline = (schema: unknown): unknown => {
      if (typeof schema !== "object" || schema === null || typeof (schema as SchemaObject).$ref !== "string") return schema;
      return hasAssertions(schema as SchemaObject, "$ref") ? undefined : resolveRef(this.root, (schema as SchemaObject).$ref, path).schema;
    };
    for (let i = 0; i < branches.length; i++) {
      for (let j = i + 1; j < branches.length; j++) {
        if (!provablyDisjoint(branches[i], branches[j], inline)) {
          throw unenforceable(path, `branches ${i} and ${j} may both match a value, which oneOf forbids; use anyOf, or make them disjoint (different types, or a required property with different const values)`);
        }
      }
    }
  }

  /** A schema without $ref, allOf, anyOf or oneOf. */
  private basic(s: SchemaObject, path: string, hint: string): Node | null {
    if (s.enum !== undefined || s.const !== undefined) return this.literals(s, path);
    const declared = s.type === undefined ? undefined : ([s.type].flat() as string[]);
    const types = declared ?? inferredTypes(s);
    if (!types) return this.any();
    const nodes = types
      .filter((t) => !(t === "integer" && types.includes("number")))
      .flatMap((t) => {
        const node = this.ofType(t, s, path, hint);
        return node ? [node] : [];
      });
    return nodes.length ? alt(...nodes) : null;
  }

  private ofType(type: string, s: SchemaObject, path: string, hint: string): Node | null {
    switch (type) {
      case "null":
        return lit("null");
      case "boolean":
        return alt(lit("true"), lit("false"));
      case "string":
        return this.string(s, path, hint);
      case "number":
      case "integer":
        return this.number(s, path, type === "integer", hint);
      case "object":
        return this.object(s, path, hint);
      default:
        return this.array(s, path, hint);
    }
  }

  private literals(s: SchemaObject, path: string): Node | null {
    let values = s.const !== undefined ? [s.const] : (s.enum as unknown[]);
    if (s.const !== undefined && s.enum !== undefined) values = values.filter((v) => (s.enum as unknown[]).some((w) => sameJson(v, w)));
    values = values.filter((value) => checkLiteral(value, s, path));
    return values.length ? alt(...values.map((value) => lit(JSON.stringify(value)))) : this.nothing(path, "no enum / const value satisfies the keywords beside it");
  }

  private string(s: SchemaObject, path: string, hint: string): Node | null {
    const minLength = (s.minLength as number | undefined) ?? 0;
    if (minLength > MAX_MINIMUM) throw unenforceable(childPath(path, "minLength"), `a minLength above ${MAX_MINIMUM} is more than llama.cpp grammars can repeat`);
    const format = typeof s.format === "string" && formatPattern(s.format) !== undefined ? s.format : undefined;
    const node = stringNode(this.grammar, { minLength, maxLength: (s.maxLength as number | undefined) ?? Infinity, pattern: s.pattern as string | undefined, format }, path, hint);
    return node ?? this.nothing(path, "no string satisfies its minLength, maxLength, pattern and format together");
  }

  private number(schema: SchemaObject, path: string, integer: boolean, hint: string): Node | null {
    const s = withNumericExclusives(schema);
    const format = typeof s.format === "string" ? numericFormat(s.format) : undefined;
    const tighter = (a: Limit | undefined, b: Limit | undefined, lower: boolean): Limit | undefined => {
      if (!a || !b) return a ?? b;
      if (a.value !== b.value) return (a.value > b.value) === lower ? a : b;
      return a.inclusive ? b : a;
    };
    const limit = (value: unknown, inclusive: boolean) => (typeof value === "number" ? { value, inclusive } : undefined);
    const min = [limit(s.minimum, true), limit(s.exclusiveMinimum, false), limit(format?.minimum, true)].reduce((a, b) => tighter(a, b, true), undefined);
    const max = [limit(s.maximum, true), limit(s.exclusiveMaximum, false), limit(format?.maximum, true)].reduce((a, b) => tighter(a, b, false), undefined);
    const multipleOf = s.multipleOf as number | undefined;
    if (multipleOf !== undefined && !Number.isInteger(multipleOf)) {
      throw unenforceable(childPath(path, "multipleOf"), "a fractional multipleOf cannot be enforced: validators check it in floating point, where e.g. 0.3 is not a multiple of 0.1");
    }
    try {
      // any multipleOf (1 included) leaves integers only
      const node = numberNode(this.grammar, { integer: integer || format?.integer === true || multipleOf !== undefined, min, max, multipleOf: multipleOf === 1 ? undefined : multipleOf }, hint);
      return node ?? this.nothing(path, `no ${integer ? "integer" : "number"} satisfies its minimum, maximum and multipleOf together`);
    } catch (err) {
      if (err instanceof NumberRangeError) throw unenforceable(childPath(path, "multipleOf"), err.message);
      throw err;
    }
  }

  private object(s: SchemaObject, path: string, hint: string): Node | null {
    const properties = (s.properties as SchemaObject | undefined) ?? {};
    const required = (s.required as string[] | undefined) ?? [];
    const additional = s.additionalProperties;
    // Without additionalProperties, other properties are allowed but not needed: declared properties
    // are generated alone, and an object declaring none ({"type": "object"}) takes any properties.
    const extras = additional === undefined ? (Object.keys(properties).length === 0 ? true : undefined) : additional === false ? undefined : additional;
    const fields: Array<{ name: string; node: Node; required: boolean }> = [];
    const field = (name: string, schema: unknown, at: string) => {
      this.why = undefined;
      const node = this.value(schema, at, `${hint}-${name}`);
      const why = this.why as SchemaError | undefined; // set by value() when no value satisfies the schema
      if (node) fields.push({ name, node, required: required.includes(name) });
      else if (required.includes(name)) throw unenforceable(at, `"${name}" is required, but no value satisfies its schema${why ? `: ${why.message}` : ""}`);
    };
    for (const [name, schema] of Object.entries(properties)) field(name, schema, childPath(childPath(path, "properties"), name));
    for (const name of required.filter((n) => !Object.hasOwn(properties, n))) {
      if (additional === false) throw unenforceable(childPath(path, "required"), `"${name}" is required, but it is not in properties and additionalProperties is false`);
      field(name, additional ?? true, childPath(path, "additionalProperties"));
    }
    const extraValue = extras === undefined ? null : this.value(extras, childPath(path, "additionalProperties"), `${hint}-additional`);
    const count = [fields.filter((f) => f.required).length, extraValue ? Infinity : fields.length];
    if (typeof s.minProperties === "number" && s.minProperties > count[0]!) {
      throw unenforceable(childPath(path, "minProperties"), "minProperties beyond the required properties cannot be enforced; list the properties in required instead");
    }
    if (typeof s.maxProperties === "number" && s.maxProperties < count[1]!) {
      throw unenforceable(childPath(path, "maxProperties"), "maxProperties below the number of optional and additional properties cannot be enforced; set additionalProperties to false and bound the properties instead");
    }
    const sep = seq(lit(","), this.ws);
    const member = (name: Node, value: Node) => seq(name, lit(":"), this.ws, value);
    const extra = extraValue ? member(keyNotAmong(fields.map((f) => f.name)), extraValue) : undefined;
    // rest(i, first): fields i.. in declared order, optional ones skippable, a comma before all but the first written
    const memo = new Map<string, Node>();
    const rest = (i: number, first: boolean): Node => {
      const key = `${i}.${first}`;
      if (memo.has(key)) return memo.get(key)!;
      let body: Node;
      if (i === fields.length) {
        body = !extra ? EMPTY : first ? opt(seq(extra, rep(seq(sep, extra), 0, Infinity))) : rep(seq(sep, extra), 0, Infinity);
      } else {
        const f = fields[i]!;
        const present = seq(first ? EMPTY : sep, member(lit(JSON.stringify(f.name)), f.node), rest(i + 1, false));
        body = f.required ? present : alt(present, rest(i + 1, first));
      }
      const node = body === EMPTY ? EMPTY : this.grammar.rule(`${hint}-rest`, body);
      memo.set(key, node);
      return node;
    };
    return seq(lit("{"), this.ws, rest(0, true), this.ws, lit("}"));
  }

  private array(s: SchemaObject, path: string, hint: string): Node | null {
    const prefixSchemas = (s.prefixItems as unknown[] | undefined) ?? (Array.isArray(s.items) ? s.items : []);
    const restSchema = Array.isArray(s.items) ? s.additionalItems : s.items;
    const minItems = (s.minItems as number | undefined) ?? 0;
    let maxItems = (s.maxItems as number | undefined) ?? Infinity;
    if (minItems > MAX_MINIMUM) throw unenforceable(childPath(path, "minItems"), `a minItems above ${MAX_MINIMUM} is more than llama.cpp grammars can repeat`);
    const prefix: Node[] = [];
    for (const [i, schema] of prefixSchemas.entries()) {
      if (i >= maxItems) break;
      const node = this.value(schema, childPath(childPath(path, s.prefixItems ? "prefixItems" : "items"), i), `${hint}-${i}`);
      if (!node) {
        maxItems = i; // no value fits here: the array must end before it
        break;
      }
      prefix.push(node);
    }
    const restPath = childPath(path, Array.isArray(s.items) ? "additionalItems" : "items");
    const item = prefix.length < prefixSchemas.length || restSchema === false ? null : this.value(restSchema ?? true, restPath, `${hint}-item`);
    if (!item) maxItems = Math.min(maxItems, prefix.length);
    if (minItems > maxItems) return this.nothing(path, "no array satisfies its minItems, maxItems and items together");
    const sep = seq(lit(","), this.ws);
    const tail = (written: number): Node => {
      if (!item || maxItems === written) return EMPTY;
      const lo = Math.max(0, minItems - written);
      const hi = maxItems - written;
      if (written > 0) return rep(seq(sep, item), lo, hi);
      const items = seq(item, rep(seq(sep, item), Math.max(0, lo - 1), hi - 1));
      return lo === 0 ? opt(items) : items;
    };
    const chain = (i: number): Node => {
      if (i === prefix.length) return tail(i);
      const present = seq(i > 0 ? sep : EMPTY, prefix[i]!, chain(i + 1));
      return i < minItems ? present : opt(present);
    };
    return seq(lit("["), this.ws, chain(0), this.ws, lit("]"));
  }

  /** Any JSON value: what `true`, `{}` and an untyped schema with no constraints allow. */
  private any(): Node {
    if (!this.anyValue) {
      const value = this.grammar.reserve("any-value");
      this.anyValue = ref(value);
      const sep = seq(lit(","), this.ws);
      const string = stringNode(this.grammar, { minLength: 0, maxLength: Infinity }, "", "any-string")!;
      const member = seq(string, lit(":"), this.ws, this.anyValue);
      const object = seq(lit("{"), this.ws, opt(seq(member, rep(seq(sep, member), 0, Infinity))), this.ws, lit("}"));
      const array = seq(lit("["), this.ws, opt(seq(this.anyValue, rep(seq(sep, this.anyValue), 0, Infinity))), this.ws, lit("]"));
      const number = numberNode(this.grammar, { integer: false }, "any-number")!;
      this.grammar.define(value, alt(this.grammar.rule("any-object", object), this.grammar.rule("any-array", array), string, number, lit("true"), lit("false"), lit("null")));
    }
    return this.anyValue;
  }

  private nothing(path: string, why: string): null {
    this.why = unenforceable(path, why);
    return null;
  }

  /** The schema object after checking that every keyword is enforceable and well-formed. */
  private checked(schema: unknown, path: string): SchemaObject {
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) throw invalid(path, "a schema must be an object or a boolean");
    checkKeywords(schema as SchemaObject, path);
    return schema as SchemaObject;
  }
}

