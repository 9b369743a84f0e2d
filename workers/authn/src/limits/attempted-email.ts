/**
 * The email a credential request names, read from the body bytes the way
 * Better Auth's body parser reads them (better-call's `getBody`: JSON by the
 * `application/…json` media types, URL-encoded and multipart forms), so a
 * request cannot name an account to Better Auth while hiding it from the
 * per-account limit. Any other body is not an object to Better Auth and is
 * refused by its schema before a password is looked at.
 */
const JSON_MEDIA_TYPE = /^application\/([a-z0-9.+-]*\+)?json/i;

export async function attemptedEmail(headers: Headers, body: Uint8Array<ArrayBuffer>): Promise<string | undefined> {
  const type = (headers.get("Content-Type") ?? "").toLowerCase();
  if (body.byteLength === 0) return undefined;
  try {
    if (JSON_MEDIA_TYPE.test(type)) {
      const value: unknown = JSON.parse(new TextDecoder().decode(body));
      const email = value && typeof value === "object" ? (value as Record<string, unknown>).email : undefined;
      return typeof email === "string" ? email : undefined;
    }
    if (type.includes("application/x-www-form-urlencoded") || type.includes("multipart/form-data")) {
      const form = await new Request("https://body.invalid/", {
        method: "POST",
        headers: { "Content-Type": headers.get("Content-Type") ?? "" },
        body,
      }).formData();
      // better-call fills its object field by field, so of a repeated
      // field the last one is what Better Auth checks the password of: the
      // limits count that one, never a decoy placed before it.
      const email = form.getAll("email").at(-1);
      return typeof email === "string" ? email : undefined;
    }
  } catch {
    // Not parseable: Better Auth refuses it too.
  }
  return undefined;
}
