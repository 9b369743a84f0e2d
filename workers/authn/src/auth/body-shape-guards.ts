import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";

/**
 * Request bodies Better Auth 1.7 turns into a 500 (or a broken account)
 * instead of refusing, refused here with a 400 before any endpoint or other
 * plugin's hook reads them. Plugin hooks run before an endpoint's body
 * schema is checked (better-auth/dist/api/dispatch.mjs), in plugin order, so
 * this plugin comes first (auth/options.ts).
 *
 * - `oauth_query` in any body: the OAuth provider's hook matches every
 *   endpoint whose body has one (the signed authorization request a sign-in
 *   carries to resume the flow) and passes it to `new URLSearchParams`,
 *   which throws on an array of non-pairs (`["a"]`): a 500 at `/sign-in/email`
 *   and everywhere else. A value that is not a string is no signed request:
 *   RFC 6749 §4.1.2.1 `invalid_request`, in the `{error}` shape the hook's
 *   own `invalid_signature` refusal has.
 * - `/update-user` takes any JSON value as `name` and `image` (its body
 *   schema is a record of anything): a `null` or object name is a 500 (the
 *   column is NOT NULL, or D1 cannot bind it), and an array was stored and
 *   left the person's every later request at 401, their session unreadable.
 *   The name is held to what sign-up's form holds it to (forms/credentials.ts).
 * - `/sign-up/email` takes a name of any length its body cap allows (about
 *   64 KiB), which the sign-up form refuses past MAX_USER_NAME and which
 *   then rides in every ID token with `profile` and every member list. The
 *   same cap, checked before the address is looked up, so the refusal says
 *   nothing about accounts. Both endpoints also refuse a name holding a
 *   control character (CONTROL_CHARACTER).
 * - `/organization/update` with a `data` naming none of the fields it
 *   updates asks drizzle for an UPDATE with nothing to set: a 500.
 *
 * Refusals are Better Auth's own `400 VALIDATION_ERROR`, as its schemas
 * answer every other body of the wrong shape.
 */

/** The longest name a person can give themselves (the sign-up form's cap). */
export const MAX_USER_NAME = 100;

/** What `/organization/update` sets (better-auth/dist/plugins/organization/routes/crud-org.mjs); no additional fields here. */
const ORGANIZATION_FIELDS = ["name", "slug", "logo", "metadata"];

function invalid(message: string): APIError {
  return new APIError("BAD_REQUEST", { code: "VALIDATION_ERROR", message });
}

function bodyOf(ctx: { body?: unknown }): Record<string, unknown> | undefined {
  const body = ctx.body;
  return body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}

/**
 * Control characters (C0, DEL, C1): no one's name holds one, and a NUL or a
 * line break in it would ride into every ID token, member list, audit line
 * and the first org's name, where a reader may not expect it.
 */
export const CONTROL_CHARACTER = /\p{Cc}/u;

function checkName(name: unknown): void {
  if (typeof name !== "string" || name.trim() === "" || name.length > MAX_USER_NAME) {
    throw invalid(`[body.name] a name of 1 to ${MAX_USER_NAME} characters`);
  }
  if (CONTROL_CHARACTER.test(name)) throw invalid("[body.name] a name without control characters");
}

function checkUpdateUser(body: Record<string, unknown>): void {
  if ("name" in body) checkName(body.name);
  if ("image" in body && body.image !== null && typeof body.image !== "string") {
    throw invalid("[body.image] a URL string or null");
  }
}

function checkUpdateOrganization(body: Record<string, unknown>): void {
  const data = body.data;
  // Not an object: the endpoint's own schema refuses it.
  if (!data || typeof data !== "object" || Array.isArray(data)) return;
  if (!ORGANIZATION_FIELDS.some((field) => field in data)) {
    throw invalid(`[body.data] nothing to update: name one of ${ORGANIZATION_FIELDS.join(", ")}`);
  }
}

export function bodyShapeGuardsPlugin() {
  return {
    id: "mono-body-shape-guards",
    hooks: {
      before: [
        {
          matcher: () => true,
          handler: createAuthMiddleware(async (ctx) => {
            const body = bodyOf(ctx);
            if (!body) return;
            // Only what the provider's hook reads: a value that is there (its matcher tests truthiness).
            if (body.oauth_query && typeof body.oauth_query !== "string") {
              throw new APIError("BAD_REQUEST", {
                error: "invalid_request",
                error_description: "oauth_query must be a string",
              });
            }
            // A name that is no string at all is the sign-up schema's to refuse, in its own words.
            if (ctx.path === "/sign-up/email" && typeof body.name === "string") checkName(body.name);
            if (ctx.path === "/update-user") checkUpdateUser(body);
            if (ctx.path === "/organization/update") checkUpdateOrganization(body);
          }),
        },
      ],
    },
  } satisfies BetterAuthPlugin;
}
