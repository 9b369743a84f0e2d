/** A run of percent-escapes: the only place a form's text can hide bytes that are not UTF-8. */
const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;
const FATAL = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Whether a form name or value, percent-decoded, is UTF-8. The WHATWG
 * urlencoded parser (URLSearchParams, formData()) decodes `%ff` or an
 * encoded surrogate (`%ED%A0%80`) to U+FFFD without a word, so a form that
 * sent them would be read, and stored, as something it did not say. Raw
 * characters are whole code points (the text was decoded as UTF-8 already):
 * a sequence can only be broken inside one run of escapes, so each run is
 * checked alone. An escape that is not one (`%zz`, a bare `%`) stays text,
 * as the parser keeps it.
 */
export function percentDecodesToUtf8(text: string): boolean {
  for (const [run] of text.matchAll(ESCAPES)) {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    try {
      FATAL.decode(bytes);
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * The first parameter of an `application/x-www-form-urlencoded` text whose
 * name or value does not percent-decode to UTF-8, as sent (its name, or the
 * name's first 64 characters), or null when every one does.
 */
export function illFormedFormParameter(text: string): string | null {
  for (const pair of text.split("&")) {
    if (!percentDecodesToUtf8(pair)) return pair.split("=", 1)[0]?.slice(0, 64) ?? "";
  }
  return null;
}
