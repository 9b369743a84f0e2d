/**
 * A function of a name, remembered per isolate: for answers that depend on
 * the name alone and are asked on every request (a header name's verdict, an
 * audit detail key's). At most `max` names are kept; past that, a new name is
 * answered afresh each time and not kept, so a caller sending ever new names
 * costs the isolate time, never memory. Keeping is never a gate: a name not
 * kept gets the same answer.
 */
export function boundedMemo<V extends boolean | number | string>(
  max: number,
  compute: (name: string) => V,
): (name: string) => V {
  if (!Number.isInteger(max) || max < 0) throw new RangeError("boundedMemo: max must be a non-negative integer");
  const known = new Map<string, V>();
  return (name) => {
    let value = known.get(name);
    if (value === undefined) {
      value = compute(name);
      if (known.size < max) known.set(name, value);
    }
    return value;
  };
}
