import { COST } from "./limits.ts";

/**
 * The runtime cost counter of the decision being made (cel-go's
 * ActualCost/CostLimit, cel-spec "Runtime cost"). decide() opens it with
 * the budget and closes it; a rule's condition charges its node count in
 * one increment, and the nodes condition-cost.ts instruments charge what
 * grows with the input (a string's characters, a list's elements, a
 * macro's iterations) before the operation runs. One object per isolate is
 * enough: decide() is synchronous, so no two decisions share it at once.
 * Outside decide() the limit is infinite and nothing is refused.
 */
export const METER = { spent: 0, limit: Number.POSITIVE_INFINITY };

/** Thrown by a charge past the limit. The library may swallow it (`true || e`), so decide() also reads METER. */
export class CostLimitExceeded extends Error {
  override readonly name = "CostLimitExceeded";
}

const EXCEEDED = new CostLimitExceeded("policy decision cost limit exceeded");

export function charge(units: number): void {
  METER.spent += units;
  if (METER.spent > METER.limit) throw EXCEEDED;
}

/** Units a value costs an operation that walks it: 1 per 10 characters of a string, 1 per element of a list or map. */
export function units(value: unknown): number {
  if (typeof value === "string") return Math.floor(value.length / COST.charsPerUnit);
  if (Array.isArray(value)) return value.length;
  if (value instanceof Map) return value.size;
  return 0;
}

/** Units of `size(value)`: a string's code points are counted one by one (COST.sizeCharsPerUnit). */
export function sizeUnits(value: unknown): number {
  if (typeof value === "string") return Math.floor(value.length / COST.sizeCharsPerUnit);
  if (Array.isArray(value)) return value.length;
  if (value instanceof Map) return value.size;
  return 0;
}
