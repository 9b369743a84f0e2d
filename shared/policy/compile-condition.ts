import type { ASTNode } from "@marcbachmann/cel-js";
import { attributeKind, type Bindings, CEL, VARIABLES } from "./cel-environment.ts";
import { conditionCost } from "./condition-cost.ts";
import { PolicyError } from "./errors.ts";
import { POLICY_LIMITS } from "./limits.ts";

/** A checked `when`: evaluating it returns a bool or throws (a CEL error: division by zero, a missing key, …). */
export interface CompiledCondition {
  evaluate: (bindings: Bindings) => boolean;
  /** The expression reads `actor`: the rule is an actor rule (docs/policy.md, "Delegation"). */
  namesActor: boolean;
  /** Cost units charged to the decision's meter before each evaluation; what grows with the input is charged as it runs. */
  cost: number;
  /** The estimate of one evaluation's cost over the input limits (condition-cost.ts). */
  worstCase: number;
}

/**
 * The functions and methods the language promises (docs/policy.md,
 * "Functions"), each tested in test/shared/policy-language.test.ts. Anything
 * else the library knows is refused: `matches` in particular, because the
 * library runs it as a JavaScript regular expression, which can backtrack
 * for exponential time on a hostile path, where CEL promises RE2.
 */
const FUNCTIONS = new Set(["size", "int", "double", "string", "timestamp", "duration"]);
const METHODS = new Set([
  "contains",
  "startsWith",
  "endsWith",
  "lowerAscii",
  "upperAscii",
  "size",
  "getFullYear",
  "getMonth",
  "getDayOfMonth",
  "getDayOfWeek",
  "getHours",
  "getMinutes",
]);
/** Macros over a list: the body runs once per element. `has` is a macro too, but runs nothing. */
const LIST_MACROS = new Set(["all", "exists", "exists_one", "map", "filter"]);

interface Walk {
  path: string;
  /** Macro variables in scope. */
  bound: ReadonlySet<string>;
  /** How many macro bodies enclose this node. */
  macroDepth: number;
  namesActor: boolean;
}

/**
 * Parses and type-checks one condition at compile time, so a request never
 * meets a policy the language does not define: unknown variables, fields and
 * functions, wrong types and oversized expressions are refused here with a
 * stable code and the rule's path.
 */
export function compileCondition(
  source: unknown,
  path: string,
  ruleId = "",
  options: { refuseCostly: boolean } = { refuseCostly: true },
): CompiledCondition {
  if (typeof source !== "string" || source.trim() === "") {
    throw new PolicyError("ERR_POLICY_SHAPE", path, "when must be a non-empty CEL expression");
  }
  if (source.length > POLICY_LIMITS.expressionLength) {
    throw new PolicyError("ERR_POLICY_TOO_LARGE", path, `longer than ${POLICY_LIMITS.expressionLength} characters`);
  }
  let parsed: ReturnType<typeof CEL.parse>;
  try {
    parsed = CEL.parse(source);
  } catch (error) {
    throw celError(error, path, "ERR_POLICY_SYNTAX");
  }
  const walk: Walk = { path, bound: new Set(), macroDepth: 0, namesActor: false };
  visit(parsed.ast, walk);
  const checked = parsed.check();
  if (!checked.valid) throw celError(checked.error, path, "ERR_POLICY_TYPE");
  if (checked.type !== "bool") {
    throw new PolicyError("ERR_POLICY_TYPE", path, `a condition must be a bool, this one is ${checked.type}`);
  }
  // cel-go's estimator, before the first request: a condition that could
  // spend a tenth of a decision's budget on one evaluation is refused here,
  // not discovered when a caller picks the inputs that make it do so.
  const { base, worstCase } = conditionCost(parsed.ast);
  if (options.refuseCostly && worstCase > POLICY_LIMITS.ruleCost) {
    throw new PolicyError(
      "ERR_POLICY_TOO_COSTLY",
      path,
      `rule "${ruleId}": worst-case cost ${worstCase} exceeds ${POLICY_LIMITS.ruleCost} at the input limits (docs/policy.md, "Cost")`,
    );
  }
  const run = parsed as (bindings: Bindings) => unknown;
  return { evaluate: (bindings) => run(bindings) === true, namesActor: walk.namesActor, cost: base, worstCase };
}

function visit(node: ASTNode, walk: Walk): void {
  switch (node.op) {
    case "value":
      // No attribute is bytes, and the library compares bytes literals wrongly (cel-spec's eq_bytes).
      if (node.args instanceof Uint8Array) {
        throw new PolicyError("ERR_POLICY_TYPE", walk.path, "bytes are not part of the policy language");
      }
      return;
    case "id":
      return visitIdentifier(node.args, walk);
    case ".":
    case ".?":
      return visitSelect(node.args[0], node.args[1], walk);
    case "call":
      return visitCall(node.args[0], node.args[1], walk);
    case "rcall":
      return visitMethod(node.args[0], node.args[1], node.args[2], walk);
    case "list":
      for (const item of node.args) visit(item, walk);
      return;
    case "map":
      for (const [key, value] of node.args) {
        visit(key, walk);
        visit(value, walk);
      }
      return;
    case "!_":
    case "-_":
      return visit(node.args, walk);
    default:
      // Binary operators, `[]`, `&&`, `||` and `?:`: their operands are all nodes.
      for (const operand of node.args as readonly ASTNode[]) visit(operand, walk);
  }
}

function visitIdentifier(name: string, walk: Walk): void {
  if (walk.bound.has(name)) return;
  if (!(VARIABLES as readonly string[]).includes(name)) {
    throw new PolicyError("ERR_POLICY_UNKNOWN_ATTRIBUTE", walk.path, `unknown variable "${name}"`);
  }
  if (name === "actor") walk.namesActor = true;
}

/** `subject.x`: a field of one of the language's variables must be one it defines. */
function visitSelect(target: ASTNode, field: string, walk: Walk): void {
  if (target.op === "id" && !walk.bound.has(target.args)) {
    visitIdentifier(target.args, walk);
    if (attributeKind(target.args, field) === undefined) {
      throw new PolicyError("ERR_POLICY_UNKNOWN_ATTRIBUTE", walk.path, `unknown attribute "${target.args}.${field}"`);
    }
    return;
  }
  visit(target, walk);
}

function visitCall(name: string, args: readonly ASTNode[], walk: Walk): void {
  if (name !== "has" && !FUNCTIONS.has(name)) {
    throw new PolicyError("ERR_POLICY_UNKNOWN_FUNCTION", walk.path, `unknown function "${name}"`);
  }
  if (name === "duration") requireDurationLiteral(args, walk);
  for (const arg of args) visit(arg, walk);
}

/**
 * Go's duration syntax (CEL's `duration()`), whole and short: 1 to 6 parts,
 * each a number of at most 19 digits (int64 nanoseconds) (and 9 after the point) with its unit.
 */
const DURATION_LITERAL = /^[-+]?(?:\d{1,19}(?:\.\d{1,9})?(?:ns|us|µs|ms|s|m|h)){1,6}$/;

/**
 * `duration()` takes one string literal of that shape. The library parses
 * its argument with an unanchored backtracking pattern whose time grows with
 * the cube of the string's length, on every evaluation: a 1 500-digit
 * literal cost 600 ms a decision, and a duration of `context.path` (up to
 * 8 KiB of the caller's choosing) would cost seconds. A literal checked here
 * is parsed in microseconds.
 */
function requireDurationLiteral(args: readonly ASTNode[], walk: Walk): void {
  const [only] = args;
  const literal = args.length === 1 && only?.op === "value" && typeof only.args === "string" ? only.args : undefined;
  if (literal === undefined || literal.length > 64 || !DURATION_LITERAL.test(literal)) {
    throw new PolicyError(
      "ERR_POLICY_TYPE",
      walk.path,
      'duration() takes one string literal such as "1h30m" (at most 6 parts of ns, us, ms, s, m or h)',
    );
  }
}

function visitMethod(name: string, receiver: ASTNode, args: readonly ASTNode[], walk: Walk): void {
  if (!LIST_MACROS.has(name)) {
    if (!METHODS.has(name)) throw new PolicyError("ERR_POLICY_UNKNOWN_FUNCTION", walk.path, `unknown method "${name}"`);
    visit(receiver, walk);
    for (const arg of args) visit(arg, walk);
    return;
  }
  visit(receiver, walk);
  const [variable, ...body] = args;
  if (variable?.op !== "id") {
    throw new PolicyError("ERR_POLICY_SYNTAX", walk.path, `${name}() takes a variable name first`);
  }
  if ((VARIABLES as readonly string[]).includes(variable.args) || walk.bound.has(variable.args)) {
    throw new PolicyError(
      "ERR_POLICY_RESERVED_NAME",
      walk.path,
      `${name}(${variable.args}, …) would hide the variable "${variable.args}"`,
    );
  }
  if (walk.macroDepth >= POLICY_LIMITS.macroNesting) {
    throw new PolicyError("ERR_POLICY_TOO_LARGE", walk.path, `${name}() inside another macro's body`);
  }
  const inner: Walk = {
    path: walk.path,
    bound: new Set([...walk.bound, variable.args]),
    macroDepth: walk.macroDepth + 1,
    namesActor: walk.namesActor,
  };
  for (const part of body) visit(part, inner);
  walk.namesActor = inner.namesActor;
}

/** The library's parse and type errors, mapped onto our codes; its message names the column. */
function celError(error: unknown, path: string, fallback: "ERR_POLICY_SYNTAX" | "ERR_POLICY_TYPE"): PolicyError {
  const { code, summary, range } = (error ?? {}) as { code?: string; summary?: string; range?: { start: number } };
  const where = range ? ` (at character ${range.start + 1})` : "";
  const message = `${summary ?? "invalid expression"}${where}`;
  if (code === "limit_exceeded") return new PolicyError("ERR_POLICY_TOO_LARGE", path, message);
  if (code === "unknown_variable" || code === "no_such_key")
    return new PolicyError("ERR_POLICY_UNKNOWN_ATTRIBUTE", path, message);
  return new PolicyError(fallback, path, message);
}
