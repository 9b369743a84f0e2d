import type { Context } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { authnConfig } from "../config.ts";
import { redeemAccountUnlockLink } from "../limits/account-unlock-redemption.ts";
import { checkCredentialAttempt, retryAfterHeader } from "../limits/credential-limits.ts";

type ApiContext = Context<{ Bindings: AuthnEnv; Variables: { body: Uint8Array<ArrayBuffer> } }>;

const DESCRIPTION = {
  invalid_link: "the unlock link is invalid or has expired",
  link_used: "the unlock link has already been used; ask for a new one if you are still locked out",
} as const;

/**
 * `POST /api/auth/unlock-account {token}` (ENDPOINT.unlockAccount): the
 * account unlock link's redemption for a client without a browser, the
 * same as the /unlock-sign-in page's POST (limits/account-unlock-redemption.ts):
 * spent once, so of concurrent redemptions exactly one unlocks; audited as
 * `auth.account_unlocked`; the same unlock cookie; nobody signed in. The
 * token is the `token` of the mailed link. Answers `200 {status: true}`, or
 * `400 invalid_link` / `400 link_used` (the page's codes), `400 invalid_body`
 * for a body that is not `{token: string}`, and, before anything is read,
 * the page's per-address budget (`429 rate_limited`). Origins as for every
 * /api/auth/* POST (security/api-origin.ts).
 */
export async function unlockAccountByApi(c: ApiContext): Promise<Response> {
  const limited = await checkCredentialAttempt(c.env, authnConfig(c.env), c.req.raw.headers, undefined);
  if (limited.limited) {
    return httpErrorResponse("rate_limited", "too many attempts; try again later", retryAfterHeader(limited));
  }
  const token = tokenOf(c.var.body);
  if (token === undefined) return httpErrorResponse("invalid_body", "the body must be JSON {token: string}");
  const outcome = await redeemAccountUnlockLink(c.env, token, {
    path: ENDPOINT.unlockAccount,
    headers: c.req.raw.headers,
    waitUntil: (work) => c.executionCtx.waitUntil(work),
  });
  if (!outcome.unlocked) return httpErrorResponse(outcome.reason, DESCRIPTION[outcome.reason]);
  return new Response(JSON.stringify({ status: true }), {
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", "Set-Cookie": outcome.unlockCookie },
  });
}

function tokenOf(body: Uint8Array): string | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(body));
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    const token = (value as Record<string, unknown>).token;
    return typeof token === "string" ? token : undefined;
  } catch {
    return undefined;
  }
}
