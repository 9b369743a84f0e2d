/**
 * Whether any object in a JSON text has two members whose names another
 * parser could take for one: the same name twice, or names equal after case
 * folding.
 *
 * RFC 8259 §4 leaves duplicate names to the implementation ("many
 * implementations report the last name/value pair only"; others keep the
 * first or fail), and Go's encoding/json matches a name to a field
 * case-insensitively (Unicode simple folding: `ſ` is `s`, `K` (Kelvin) is
 * `k`). `JSON.parse` sees neither: it keeps the last exact-case member. The
 * gateway decides on that reading, so a message where the readings can part
 * (`"name":"list_documents","Name":"purge_documents"`) is refused rather than
 * guessed at.
 *
 * `text` must be JSON that `JSON.parse` has already accepted: the scan only
 * follows strings and brackets, it does not validate. It is one linear pass
 * with no recursion (nesting costs a stack slot, not a call frame), and an
 * object allocates a set only when it gets a second member.
 */
export function hasAmbiguousMemberNames(text: string): boolean {
  // One entry per open container: ARRAY, or for an object the folded names
  // seen so far (NO_NAMES, the one name, or a set of two or more).
  const open: (typeof ARRAY | typeof NO_NAMES | string | Set<string>)[] = [];
  let nameNext = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i + 1;
      let escaped = false;
      let ascii = true;
      for (i = start; ; i++) {
        const d = text.charCodeAt(i);
        if (d === QUOTE) break;
        if (d === BACKSLASH) {
          escaped = true;
          i++;
        } else if (d > 0x7f) {
          ascii = false;
        }
      }
      if (!nameNext) continue;
      nameNext = false;
      // An escaped name is rare: let the real decoder read it (`n\u0061me` is `name`).
      const name = escaped ? (JSON.parse(text.slice(start - 1, i + 1)) as string) : text.slice(start, i);
      const folded = fold(name, ascii && !escaped);
      const top = open.length - 1;
      const names = open[top];
      if (names === NO_NAMES) {
        open[top] = folded;
      } else if (typeof names === "string") {
        if (names === folded) return true;
        open[top] = new Set([names, folded]);
      } else if (names instanceof Set) {
        if (names.has(folded)) return true;
        names.add(folded);
      }
    } else if (c === OPEN_BRACE) {
      open.push(NO_NAMES);
      nameNext = true;
    } else if (c === OPEN_BRACKET) {
      open.push(ARRAY);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      open.pop();
      nameNext = false;
    } else if (c === COMMA) {
      nameNext = open[open.length - 1] !== ARRAY;
    }
  }
  return false;
}

const ARRAY = 0;
const NO_NAMES = 1;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * ASCII names fold by lower case alone. Others go through upper then lower
 * case, which also joins what Go's folding joins (`ſ` → `S` → `s`, Kelvin
 * `K` → `k`); it joins a little more (`ß` → `SS` → `ss`), which only refuses
 * more.
 */
function fold(name: string, ascii: boolean): string {
  return ascii ? name.toLowerCase() : name.toUpperCase().toLowerCase();
}
