/**
 * A parsed list filter (filter.ts) as a SQL condition over the columns a
 * store names for each attribute. Every comparison is a plain 0 or 1, never
 * NULL: RFC 7644 §3.4.2.2 has a comparison with an unassigned attribute
 * false (and `pr` false), so `not (externalId eq "x")` must hold for a
 * resource without one, which SQL's three-valued NOT would drop.
 *
 * Values are bound parameters, never SQL text. `co`/`sw`/`ew` use instr()
 * and substr(), which compare exactly, not LIKE, which SQLite folds ASCII
 * case for and reads `%` and `_` in the value as wildcards.
 */
import { type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { CompareOp, Filter, MultiValued, Typed } from "./filter.ts";

/**
 * What one attribute compares against: a column (`fold`: it holds the value
 * lower-cased, as for an attribute RFC 7643 makes caseExact false, so the
 * filter's value is lower-cased too), or a value every resource has (a
 * User's one email is always the `work`, primary one: resources.ts).
 */
export type Operand = Typed & ({ column: SQLWrapper; fold?: boolean } | { constant: string | boolean });

/**
 * A multi-valued attribute: `rows` (when its values are rows of another
 * table) turns a condition on one value's sub-attributes into one on the
 * resource, an EXISTS over that table's rows of it; without it the
 * sub-attributes are the resource's own columns or constants.
 */
export type MultiOperand = MultiValued<Operand> & { readonly rows?: (condition: SQL) => SQL };

export type OperandSchema = Readonly<Record<string, Operand | MultiOperand>>;

const TRUE = sql`1`;
const FALSE = sql`0`;

export function filterSql(filter: Filter, attributes: OperandSchema): SQL {
  switch (filter.kind) {
    case "and":
      return sql`(${filterSql(filter.left, attributes)} and ${filterSql(filter.right, attributes)})`;
    case "or":
      return sql`(${filterSql(filter.left, attributes)} or ${filterSql(filter.right, attributes)})`;
    case "not":
      return sql`(not ${filterSql(filter.filter, attributes)})`;
    case "some": {
      const multi = attributes[filter.attribute];
      if (multi === undefined || !("subAttributes" in multi)) throw new Error(`no multi-valued ${filter.attribute}`);
      const condition = filterSql(filter.filter, multi.subAttributes);
      // EXISTS is 0 or 1, never NULL, as `not` needs.
      return multi.rows ? multi.rows(condition) : condition;
    }
    case "present":
      return present(operand(attributes, filter.attribute));
    case "compare": {
      const target = operand(attributes, filter.attribute);
      if ("constant" in target) return compareConstant(target.constant, filter.op, filter.value) ? TRUE : FALSE;
      if (typeof filter.value !== "string") throw new Error(`${filter.attribute} is a string`);
      const value = target.fold ? filter.value.toLowerCase() : filter.value;
      const matches = sql`(${present(target)} and ${compareColumn(target.column, filter.op, value)})`;
      return filter.op === "ne" ? sql`(not ${matches})` : matches;
    }
  }
}

function operand(attributes: OperandSchema, name: string): Operand {
  const found = attributes[name];
  if (found === undefined || "subAttributes" in found) throw new Error(`no attribute ${name}`);
  return found;
}

/** §3.4.2.2 `pr`: "has a value": not null, and for a string not empty. */
function present(target: Operand): SQL {
  if ("constant" in target) return target.constant === "" ? FALSE : TRUE;
  return sql`(${target.column} is not null and ${target.column} <> '')`;
}

/** `ne` is answered by the caller as `not eq`. */
function compareColumn(column: SQLWrapper, op: CompareOp, value: string): SQL {
  // SQLite's length() and substr() count characters (code points), as the spread does.
  const length = [...value].length;
  if (op === "eq" || op === "ne") return sql`${column} = ${value}`;
  if (length === 0) return TRUE;
  if (op === "co") return sql`instr(${column}, ${value}) > 0`;
  if (op === "sw") return sql`substr(${column}, 1, ${length}) = ${value}`;
  return sql`(length(${column}) >= ${length} and substr(${column}, ${-length}) = ${value})`;
}

/** A constant operand (caseExact false, as RFC 7643 §4.1.2 has emails' `type`) against the filter's value. */
function compareConstant(constant: string | boolean, op: CompareOp, value: string | boolean): boolean {
  if (typeof constant === "boolean" || typeof value === "boolean") {
    return op === "eq" ? constant === value : op === "ne" ? constant !== value : false;
  }
  const [held, wanted] = [constant.toLowerCase(), value.toLowerCase()];
  if (op === "eq") return held === wanted;
  if (op === "ne") return held !== wanted;
  if (op === "co") return held.includes(wanted);
  if (op === "sw") return held.startsWith(wanted);
  return held.endsWith(wanted);
}
