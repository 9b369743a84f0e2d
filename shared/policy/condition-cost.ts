import type { ASTNode } from "@marcbachmann/cel-js";
import { attributeKind } from "./cel-environment.ts";
import { charge, sizeUnits, units } from "./cost-meter.ts";
import { COST, POLICY_LIMITS } from "./limits.ts";

/**
 * What a condition costs (docs/policy.md, "Cost"), the way cel-go prices
 * CEL: its worst case over the input limits, estimated once at compile
 * time, and the meter charges of each evaluation. Both follow one price
 * list, so the estimate bounds what the meter can charge:
 *
 * - every node: 1, charged for a whole rule in one increment (`base`), and
 *   for a macro's body once per iteration, with COST.iteration;
 * - contains, lowerAscii, upperAscii, int(), double(), timestamp(),
 *   string() and `+`: the units of the values they walk (cost-meter.ts,
 *   `units`); size: `sizeUnits`; startsWith and endsWith: their argument's;
 * - `==`, `!=`, `<`, `<=`, `>`, `>=`: the smaller operand's units;
 * - `in` a list: 1 + the smaller string's units, per element;
 * - a timestamp method with a time zone: COST.timeZone.
 *
 * A charge that a literal bounds is folded into `base`; only what grows
 * with a request's attributes instruments the node that produces the value,
 * so the operation never runs once the budget is spent.
 */
export interface ConditionCost {
  /** Charged per evaluation before the condition runs. */
  base: number;
  /** The estimate over POLICY_LIMITS' input limits: what one evaluation can cost at most. */
  worstCase: number;
}

/** Upper bounds of a value: characters of a string, elements of a list or map, and the bound of each element. */
interface Size {
  chars: number;
  items: number;
  item?: Size;
}

interface Estimate extends Size {
  cost: number;
}

const MAX_STRING: Size = { chars: POLICY_LIMITS.inputStringLength, items: 0 };
const MAX_STRINGS: Size = { chars: 0, items: POLICY_LIMITS.inputListItems, item: MAX_STRING };
/** A value of `resource.attributes`: a scalar, or a list of them. */
const ATTRIBUTE: Size = {
  chars: POLICY_LIMITS.inputStringLength,
  items: POLICY_LIMITS.inputListItems,
  item: MAX_STRING,
};
const ATTRIBUTES: Size = { chars: 0, items: POLICY_LIMITS.inputAttributes, item: ATTRIBUTE };
const SCALAR: Size = { chars: 0, items: 0 };
/** `string()` of a number, bool or timestamp. */
const PRINTED: Size = { chars: 32, items: 0 };

/** Methods whose receiver, and whose first argument, an evaluation walks. */
const WALKS_RECEIVER = new Set(["contains", "lowerAscii", "upperAscii", "size"]);
const WALKS_ARGUMENT = new Set(["contains", "startsWith", "endsWith"]);
const WALKS_CALL_ARGUMENT = new Set(["size", "int", "double", "timestamp", "string"]);
const COMPARISONS = new Set(["==", "!=", "<", "<=", ">", ">="]);
const LIST_MACROS = new Set(["all", "exists", "exists_one", "map", "filter"]);
const TIME_METHODS = new Set(["getFullYear", "getMonth", "getDayOfMonth", "getDayOfWeek", "getHours", "getMinutes"]);

/** The library's node as evaluated: `evaluate` is an own property it (and we) may set; `meta` holds the real handler. */
type Evaluate = (ev: unknown, ast: unknown, ctx: unknown) => unknown;
interface EvaluatedNode {
  evaluate: Evaluate;
  readonly meta: {
    readonly alternate?: EvaluatedNode;
    readonly macro?: { evaluate: (ev: unknown, macro: unknown, ctx: unknown) => unknown };
    readonly evaluate: Evaluate;
  };
}

/** Prices a checked condition and instruments its nodes (the parse tree the library evaluates). */
export function conditionCost(root: ASTNode): ConditionCost {
  const counter = { nodes: 0 };
  const { cost } = estimate(root, new Map(), counter);
  return { base: counter.nodes, worstCase: cost };
}

function units0(size: Size): number {
  return Math.max(Math.floor(size.chars / COST.charsPerUnit), size.items);
}

function sizeUnits0(size: Size): number {
  return Math.max(Math.floor(size.chars / COST.sizeCharsPerUnit), size.items);
}

function merge(a: Size | undefined, b: Size | undefined): Size | undefined {
  if (!a) return b;
  if (!b) return a;
  const item = merge(a.item, b.item);
  return { chars: Math.max(a.chars, b.chars), items: Math.max(a.items, b.items), ...(item ? { item } : {}) };
}

/** An estimate of `cost` for a value of `size` (only its bounds: a size may be another node's estimate). */
function sized(cost: number, size: Size): Estimate {
  return { cost, chars: size.chars, items: size.items, ...(size.item ? { item: size.item } : {}) };
}

function isLiteral(node: ASTNode): boolean {
  return node.op === "value" || (node.op === "list" && node.args.every(isLiteral));
}

/**
 * `counter` collects the nodes charged per evaluation of the part being
 * walked: the condition's `base`, or a macro body's per-iteration charge.
 */
function estimate(node: ASTNode, scope: ReadonlyMap<string, Size>, counter: { nodes: number }): Estimate {
  counter.nodes += 1;
  const walk = (child: ASTNode) => estimate(child, scope, counter);
  switch (node.op) {
    case "value":
      return { cost: 1, chars: typeof node.args === "string" ? node.args.length : 0, items: 0 };
    case "id":
      return sized(1, scope.get(node.args) ?? (node.args === "action" ? MAX_STRING : SCALAR));
    case ".":
    case ".?": {
      const [target, field] = node.args;
      const t = walk(target);
      if (target.op === "id" && !scope.has(target.args)) {
        const kind = attributeKind(target.args, field);
        const size = kind === "string" ? MAX_STRING : kind === "strings" ? MAX_STRINGS : SCALAR;
        return sized(1 + t.cost, kind === "attributes" ? ATTRIBUTES : size);
      }
      return sized(1 + t.cost, t.item ?? ATTRIBUTE);
    }
    case "[]":
    case "[?]": {
      const [target, index] = node.args;
      const t = walk(target);
      return sized(1 + t.cost + walk(index).cost, t.item ?? ATTRIBUTE);
    }
    case "list":
    case "map": {
      const parts = node.op === "list" ? node.args : node.args.flat();
      let cost = 1;
      let item: Size | undefined;
      for (const part of parts) {
        const e = walk(part);
        cost += e.cost;
        item = merge(item, e);
      }
      return { cost, chars: 0, items: node.args.length, ...(item ? { item } : {}) };
    }
    case "!_":
    case "-_":
      return { cost: 1 + walk(node.args).cost, ...SCALAR };
    case "&&":
    case "||":
      return { cost: 1 + walk(node.args[0]).cost + walk(node.args[1]).cost, ...SCALAR };
    case "?:": {
      const [c, a, b] = node.args.map(walk) as [Estimate, Estimate, Estimate];
      return sized(1 + c.cost + a.cost + b.cost, merge(a, b) as Size);
    }
    case "call":
      return estimateCall(node.args[0], node.args[1], counter, walk);
    case "rcall":
      if (LIST_MACROS.has(node.args[0])) return estimateMacro(node.args[0], node.args[1], node.args[2], scope, walk);
      return estimateMethod(node.args[0], node.args[1], node.args[2], counter, walk);
    default:
      return estimateBinary(node.op, node.args[0], node.args[1], counter, walk);
  }
}

type Walk = (node: ASTNode) => Estimate;

function estimateCall(name: string, args: readonly ASTNode[], counter: { nodes: number }, walk: Walk): Estimate {
  let cost = 1;
  const sizes = args.map((arg) => {
    const e = walk(arg);
    cost += e.cost;
    return e;
  });
  const [first] = args;
  if (!WALKS_CALL_ARGUMENT.has(name) || first === undefined) return { cost, ...SCALAR };
  cost += name === "size" ? walked(first, sizes[0] as Size, counter, true) : walked(first, sizes[0] as Size, counter);
  const result = name === "string" ? (merge(sizes[0], PRINTED) as Size) : SCALAR;
  return { cost, chars: result.chars, items: 0 };
}

function estimateMethod(
  name: string,
  receiver: ASTNode,
  args: readonly ASTNode[],
  counter: { nodes: number },
  walk: Walk,
): Estimate {
  const r = walk(receiver);
  let cost = 1 + r.cost;
  const sizes = args.map((arg) => {
    const e = walk(arg);
    cost += e.cost;
    return e;
  });
  if (TIME_METHODS.has(name)) {
    if (args.length > 0) counter.nodes += COST.timeZone;
    return { cost: cost + (args.length > 0 ? COST.timeZone : 0), ...SCALAR };
  }
  const [first] = args;
  if (WALKS_RECEIVER.has(name)) cost += walked(receiver, r, counter, name === "size");
  if (WALKS_ARGUMENT.has(name) && first) cost += walked(first, sizes[0] as Size, counter);
  // JavaScript's case mapping can lengthen a string up to threefold ("ß" → "SS", "ΐ" → three).
  if (name === "lowerAscii" || name === "upperAscii") return { cost, chars: r.chars * 3, items: 0 };
  return { cost, ...SCALAR };
}

/**
 * A value an operation walks (`counted`: by size(), a code point at a
 * time): a literal's units are folded into the count, anything else is
 * charged as it is produced.
 */
function walked(node: ASTNode, size: Size, counter: { nodes: number }, counted = false): number {
  const bound = counted ? sizeUnits0(size) : units0(size);
  if (isLiteral(node)) counter.nodes += bound;
  else if (bound > 0) chargeAfter(node, counted ? sizeUnits : units);
  return bound;
}

function estimateMacro(
  name: string,
  receiver: ASTNode,
  args: readonly ASTNode[],
  scope: ReadonlyMap<string, Size>,
  walk: Walk,
): Estimate {
  const r = walk(receiver);
  const [variable, ...body] = args;
  // The variable is a node of the tree, charged with the rest of `base`.
  const named = variable ? walk(variable).cost : 0;
  const iterations = r.items;
  const inner = new Map(scope);
  if (variable?.op === "id") inner.set(variable.args, r.item ?? ATTRIBUTE);
  let perIteration = 0;
  let last: Estimate | undefined;
  body.forEach((part, i) => {
    const bodyCounter = { nodes: i === 0 ? COST.iteration : 0 };
    last = estimate(part, inner, bodyCounter);
    perIteration += last.cost + (i === 0 ? COST.iteration : 0);
    chargeBefore(part, bodyCounter.nodes);
  });
  const cost = 1 + r.cost + named + iterations * perIteration;
  if (name === "map") return { cost, chars: 0, items: iterations, ...(last ? { item: last } : {}) };
  if (name === "filter") return sized(cost, r);
  return { cost, ...SCALAR };
}

function estimateBinary(op: string, left: ASTNode, right: ASTNode, counter: { nodes: number }, walk: Walk): Estimate {
  const l = walk(left);
  const r = walk(right);
  const cost = 1 + l.cost + r.cost;
  if (op === "+") {
    const added = walked(left, l, counter) + walked(right, r, counter);
    const item = merge(l.item, r.item);
    return { cost: cost + added, chars: l.chars + r.chars, items: l.items + r.items, ...(item ? { item } : {}) };
  }
  if (COMPARISONS.has(op)) {
    const bound = Math.min(units0(l), units0(r));
    if (bound === 0) return { cost, ...SCALAR };
    if (isLiteral(left) || isLiteral(right)) counter.nodes += bound;
    else pairCharge(left, right, (a, b) => Math.min(a, units(b)));
    return { cost: cost + bound, ...SCALAR };
  }
  if (op === "in" && r.items > 0) {
    const perElement = 1 + Math.min(units0(l), r.item ? units0(r.item) : units0(ATTRIBUTE));
    const bound = r.items * perElement;
    const elementBound = perElement - 1;
    const price = (a: number, b: unknown) => (Array.isArray(b) ? b.length * (1 + Math.min(a, elementBound)) : 0);
    if (isLiteral(right)) counter.nodes += bound;
    // `"documents:read" in subject.scope`: the literal's units are known, only the list is charged as it comes.
    else if (isLiteral(left)) chargeAfter(right, (b) => price(units0(l), b));
    else pairCharge(left, right, price);
    return { cost: cost + bound, ...SCALAR };
  }
  return { cost, ...SCALAR };
}

/** The library's own handler for a node, read at each call (its check may replace it). */
function original(node: EvaluatedNode): Evaluate {
  if (Object.hasOwn(node, "evaluate")) return node.evaluate;
  return (ev, ast, ctx) => {
    const { alternate, macro, evaluate } = node.meta;
    if (alternate) return alternate.evaluate(ev, alternate, ctx);
    if (macro) return macro.evaluate(ev, macro, ctx);
    return evaluate.call(node, ev, ast, ctx);
  };
}

function instrumented(node: ASTNode): EvaluatedNode {
  return node as unknown as EvaluatedNode;
}

function chargeAfter(node: ASTNode, price: (value: unknown) => number): void {
  const target = instrumented(node);
  const run = original(target);
  target.evaluate = (ev, ast, ctx) => {
    const value = run(ev, ast, ctx);
    charge(price(value));
    return value;
  };
}

function chargeBefore(node: ASTNode, units: number): void {
  const target = instrumented(node);
  const run = original(target);
  target.evaluate = (ev, ast, ctx) => {
    charge(units);
    return run(ev, ast, ctx);
  };
}

/** A binary operation priced on both operands: the library evaluates the left one first, then the right. */
function pairCharge(left: ASTNode, right: ASTNode, price: (leftUnits: number, rightValue: unknown) => number): void {
  let leftUnits = 0;
  const l = instrumented(left);
  const runLeft = original(l);
  l.evaluate = (ev, ast, ctx) => {
    const value = runLeft(ev, ast, ctx);
    leftUnits = units(value);
    return value;
  };
  chargeAfter(right, (value) => price(leftUnits, value));
}
