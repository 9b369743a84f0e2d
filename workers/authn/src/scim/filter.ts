/**
 * RFC 7644 §3.4.2.2 list filters, parsed into a tree the stores compile to
 * SQL (filter-sql.ts). Supported: `eq`, `ne`, `co`, `sw`, `ew` and `pr`
 * on the attributes a resource offers (user-store.ts, group-store.ts),
 * joined by `and` (binding tighter than `or`, as §3.4.2.2's precedence
 * table has it), `or`, `not (…)` and parentheses, and value paths on a
 * multi-valued attribute (`emails[type eq "work"]`, with Microsoft Entra's
 * `emails[type eq "work"].value eq "…"`), and a Group's `members eq "…"`
 * (MultiValued.bare: Entra checks membership so before a PATCH). Anything else, `gt`/`ge`/`lt`/`le`
 * and attributes not offered included (a User's `members`, a member's `display`), is 400
 * `invalidFilter` naming the attribute as written, `members.display` (§3.12:
 * "the specified attribute and filter comparison combination is not
 * supported"), never a silently wider answer.
 *
 * Bounded before anything is read: the text's length, the nesting depth
 * (the parser recurses once per level) and the number of comparisons
 * (each binds up to three SQL parameters, and D1 binds at most 100 per
 * statement).
 */
import { ScimError } from "../../../../shared/errors/scim.ts";

export type CompareOp = "eq" | "ne" | "co" | "sw" | "ew";

export type Filter =
  | { kind: "and" | "or"; left: Filter; right: Filter }
  | { kind: "not"; filter: Filter }
  | { kind: "present"; attribute: string }
  | { kind: "compare"; attribute: string; op: CompareOp; value: string | boolean }
  /** Some value of the multi-valued `attribute` matches `filter`, whose attributes are its sub-attributes. */
  | { kind: "some"; attribute: string; filter: Filter };

export interface Typed {
  readonly type: "string" | "boolean";
  /** The only comparisons (besides `pr`) it takes, and why; every one when absent. */
  readonly only?: { readonly operators: readonly CompareOp[]; readonly why: string };
}

/** A multi-valued complex attribute: what its value paths may compare. */
export interface MultiValued<T extends Typed> {
  readonly subAttributes: Readonly<Record<string, T>>;
  /**
   * The sub-attribute a comparison of the bare name compares (`members eq
   * "…"` as `members.value eq "…"`, `members pr` as some member's value
   * present); without it the bare name takes only a value path.
   */
  readonly bare?: string;
  /** Why it filters on these sub-attributes only, told with the refusal of another (`members.display`). */
  readonly why?: string;
}

/** Inside a multi-valued attribute: its name and what it offers, for a refusal's detail. */
interface Within<T extends Typed> {
  readonly attribute: string;
  readonly multi: MultiValued<T>;
}

/** What a resource lets a filter name, by attribute name as the schema spells it (compared case-insensitively). */
export type FilterSchema<T extends Typed = Typed> = Readonly<Record<string, T | MultiValued<T>>>;

export const MAX_FILTER_LENGTH = 1024;
export const MAX_FILTER_DEPTH = 8;
export const MAX_FILTER_COMPARISONS = 16;

const OPERATORS: readonly string[] = ["eq", "ne", "co", "sw", "ew"];
/** §3.4.2.2 operators this server does not compare with: a clear refusal, not "unknown syntax". */
const UNSUPPORTED_OPERATORS: readonly string[] = ["gt", "ge", "lt", "le"];

type Token = { kind: "(" | ")" | "[" | "]" | "string" | "word"; text: string };

// A bracket, a JSON string (§3.4.2.2: compValue strings are JSON strings), or a run of anything else.
const TOKEN = /\s*(?:([()[\]])|("(?:[^"\\]|\\.)*")|([^\s()[\]"]+))/y;

function invalid(detail: string): ScimError {
  return new ScimError("invalidFilter", `filter: ${detail}`);
}

function tokens(text: string): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (text.slice(TOKEN.lastIndex).trim() === "") break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) {
      const skipped = text.slice(at).length - text.slice(at).trimStart().length;
      throw invalid(`cannot read it at character ${at + skipped + 1} (a string without its closing quote?)`);
    }
    const [, bracket, string, word] = match;
    if (bracket) out.push({ kind: bracket as Token["kind"], text: bracket });
    else if (string) out.push({ kind: "string", text: string });
    else out.push({ kind: "word", text: word ?? "" });
  }
  return out;
}

/** The schema's own name for `written` (case-insensitive, RFC 7644 §3.4.2.2), own keys only. */
function lookup<T>(table: Readonly<Record<string, T>>, written: string): [string, T] | undefined {
  const lower = written.toLowerCase();
  const name = Object.keys(table).find((key) => key.toLowerCase() === lower);
  return name === undefined ? undefined : [name, table[name] as T];
}

class Parser<T extends Typed> {
  private at = 0;
  private depth = 0;
  private comparisons = 0;
  /** Inside a value path, its attribute: a refusal names `members.value`, not `value`. */
  private within: Within<T> | undefined;

  constructor(
    private readonly tokens: Token[],
    private readonly schema: FilterSchema<T>,
    private readonly urn: string,
  ) {}

  parse(): Filter {
    const filter = this.or(undefined);
    const rest = this.tokens[this.at];
    if (rest) throw invalid(`unexpected "${rest.text.slice(0, 32)}"`);
    return filter;
  }

  /** `scope`: inside a value path, the sub-attributes its filter compares. */
  private or(scope: Readonly<Record<string, T>> | undefined): Filter {
    let left = this.and(scope);
    while (this.keyword("or")) left = { kind: "or", left, right: this.and(scope) };
    return left;
  }

  private and(scope: Readonly<Record<string, T>> | undefined): Filter {
    let left = this.unary(scope);
    while (this.keyword("and")) left = { kind: "and", left, right: this.unary(scope) };
    return left;
  }

  private unary(scope: Readonly<Record<string, T>> | undefined): Filter {
    if (++this.depth > MAX_FILTER_DEPTH) throw invalid(`nests deeper than ${MAX_FILTER_DEPTH} levels`);
    try {
      if (this.keyword("not")) {
        this.expect("(");
        const filter = this.or(scope);
        this.expect(")");
        return { kind: "not", filter };
      }
      if (this.tokens[this.at]?.kind === "(") {
        this.at++;
        const filter = this.or(scope);
        this.expect(")");
        return filter;
      }
      return scope ? this.comparison(scope) : this.attributeExpression();
    } finally {
      this.depth--;
    }
  }

  /** `attr op value`, `attr pr`, `multi.sub op value`, or a value path `multi[…]` (with Entra's `.sub op value` after it). */
  private attributeExpression(): Filter {
    const written = this.word("an attribute name");
    // §3.10: an attribute may be qualified by the resource's own schema URN (in any case), by no other.
    const prefix = `${this.urn.toLowerCase()}:`;
    const path = written.toLowerCase().startsWith(prefix) ? written.slice(prefix.length) : written;
    const [head = "", sub] = path.split(/\.(.*)/s);
    const found = lookup(this.schema, head);
    if (found && "subAttributes" in found[1]) {
      const [attribute, multi] = found as [string, MultiValued<T>];
      const { subAttributes, bare } = multi;
      const within = { attribute, multi };
      if (sub !== undefined) {
        return {
          kind: "some",
          attribute,
          filter: this.compare(subAttributes, sub, undefined, `${attribute}.${sub}`, within),
        };
      }
      if (bare !== undefined && this.tokens[this.at]?.kind === "word") {
        // RFC 7644 §3.4.2.2: a multi-valued attribute matches if any of its values does.
        return { kind: "some", attribute, filter: this.compare(subAttributes, bare, undefined, attribute, within) };
      }
      this.expect("[");
      if (++this.depth > MAX_FILTER_DEPTH) throw invalid(`nests deeper than ${MAX_FILTER_DEPTH} levels`);
      this.within = within;
      const inner = this.or(subAttributes);
      this.within = undefined;
      this.depth--;
      this.expect("]");
      const next = this.tokens[this.at];
      if (next?.kind !== "word" || !next.text.startsWith(".")) return { kind: "some", attribute, filter: inner };
      this.at++;
      // One value that matches the path's filter and the comparison after it.
      return {
        kind: "some",
        attribute,
        filter: {
          kind: "and",
          left: inner,
          right: this.compare(subAttributes, next.text.slice(1), undefined, `${attribute}${next.text}`, within),
        },
      };
    }
    // `userName.x` is no attribute: only a bare name is looked up as found.
    return this.compare(this.schema, path, sub === undefined ? found : undefined);
  }

  private comparison(scope: Readonly<Record<string, T>>): Filter {
    const written = this.word("an attribute name");
    const within = this.within;
    return this.compare(scope, written, undefined, within ? `${within.attribute}.${written}` : written, within);
  }

  private compare(
    table: FilterSchema<T> | Readonly<Record<string, T>>,
    written: string,
    found = lookup(table, written),
    /** The name the filter compares, for a refusal's detail. */
    label = written,
    /** The multi-valued attribute whose sub-attributes `table` holds, if any. */
    within?: Within<T>,
  ): Filter {
    if (!found || "subAttributes" in found[1]) {
      // RFC 7644 §3.4.2.2, §3.12: an attribute this resource does not filter on is invalidFilter,
      // named as the filter wrote it (`members.display`, not `display`), with what it may name instead.
      if (!within) {
        throw invalid(`cannot filter on ${written.slice(0, 64)}; it filters on ${Object.keys(table).join(", ")}`);
      }
      const names = Object.keys(table).map((sub) => `${within.attribute}.${sub}`);
      const why = within.multi.why ? `: ${within.multi.why}` : "";
      throw invalid(`cannot filter on ${label.slice(0, 64)}; it filters on ${names.join(", ")}${why}`);
    }
    const [attribute, { type, only }] = found as [string, T];
    if (++this.comparisons > MAX_FILTER_COMPARISONS) {
      throw invalid(`makes more than ${MAX_FILTER_COMPARISONS} comparisons`);
    }
    const op = this.word("an operator").toLowerCase();
    if (op === "pr") return { kind: "present", attribute };
    if (only && !(only.operators as readonly string[]).includes(op)) {
      throw invalid(
        `${label.slice(0, 64)} takes only ${only.operators.join(", ")} or pr, not ${op.slice(0, 32)}: ${only.why}`,
      );
    }
    if (UNSUPPORTED_OPERATORS.includes(op)) throw invalid(`${op} is not supported; use eq, ne, co, sw, ew or pr`);
    if (!OPERATORS.includes(op)) throw invalid(`${op.slice(0, 32)} is no operator`);
    const value = this.tokens[this.at++];
    if (type === "boolean") {
      const bool = value?.kind === "word" ? value.text.toLowerCase() : undefined;
      if ((op !== "eq" && op !== "ne") || (bool !== "true" && bool !== "false")) {
        throw invalid(`${label.slice(0, 64)} is a boolean: eq or ne true or false`);
      }
      return { kind: "compare", attribute, op, value: bool === "true" };
    }
    if (value?.kind !== "string") throw invalid(`${label.slice(0, 64)} is compared with a "quoted string"`);
    return { kind: "compare", attribute, op: op as CompareOp, value: jsonString(value.text) };
  }

  private keyword(word: string): boolean {
    const token = this.tokens[this.at];
    if (token?.kind !== "word" || token.text.toLowerCase() !== word) return false;
    this.at++;
    return true;
  }

  private word(what: string): string {
    const token = this.tokens[this.at++];
    if (token?.kind !== "word") throw invalid(`expected ${what}${token ? ` at "${token.text.slice(0, 32)}"` : ""}`);
    return token.text;
  }

  private expect(kind: Token["kind"]): void {
    const token = this.tokens[this.at++];
    if (token?.kind !== kind) throw invalid(`expected "${kind}"${token ? ` at "${token.text.slice(0, 32)}"` : ""}`);
  }
}

function jsonString(text: string): string {
  try {
    return JSON.parse(text) as string;
  } catch {
    throw invalid(`${text.slice(0, 32)} is not a JSON string`);
  }
}

/** The filter a `filter` parameter names, for a resource whose core schema URN is `urn`. */
export function parseFilter<T extends Typed>(text: string, schema: FilterSchema<T>, urn: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw invalid(`longer than ${MAX_FILTER_LENGTH} characters`);
  if (text.trim() === "") throw invalid("empty");
  return new Parser(tokens(text), schema, urn).parse();
}
