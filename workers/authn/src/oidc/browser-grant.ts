import { APIError } from "better-auth/api";
import { OIDC_GRANT_TYPE } from "../../../../shared/contracts/oidc.ts";
import type {
  BrowserGrantAnswer,
  BrowserGrantRequest,
  EndedBrowserGrant,
  PresentedRefreshToken,
} from "../../../../shared/contracts/oidc-grants.ts";
import { checkedRefreshTokenRow, codeGrantId, readRefreshTokenRow } from "../../../../shared/oidc/browser-grant-row.ts";
import {
  type RedeemedCode,
  recordRedeemedCodeGrant,
  redeemedCode,
} from "../../../../shared/oidc/redeemed-code-grant.ts";
import { storedTokenForm } from "./stored-token.ts";

/**
 * The authorization grant a browser access token rests on
 * (shared/oidc/browser-grant-row.ts): the code's stored form, which every
 * refresh token row of the grant carries as `authorization_code_id`.
 */
export type RefreshTokenGrant = PresentedRefreshToken;

/**
 * The form each grant was handed to the provider with, by the request
 * Better Auth handles (as oidc/grant-start.ts keeps its arrival): the signer
 * reads it through the endpoint context. Nothing outlives the request.
 */
const handedForms = new WeakMap<Request, { form: URLSearchParams; presented?: RefreshTokenGrant }>();

/** `presented`: the refresh token's row as the grant read it before the hand-over, which the signer need not read again. */
export function markGrantForm(request: Request, form: URLSearchParams, presented?: RefreshTokenGrant): void {
  handedForms.set(request, { form, ...(presented ? { presented } : {}) });
}

/**
 * The `grant_id` of the access token the provider is signing for this
 * request: a code's redemption is its grant's first issue (the grant's id is
 * the code's stored form, what Better Auth stores as the refresh token's
 * `authorization_code_id`); a refresh rests on the presented token's row.
 * That row is read after Better Auth read it and before its rotation could
 * be undone, so it is there; if it is gone (the family ended by a concurrent
 * request), the grant is: RFC 6749 §5.2 `invalid_grant`. Undefined for a
 * request handed over by no grant (the token Worker's signer then refuses
 * the access token: every one must be revocable by its grant).
 */
export async function grantIdOfRequest(db: D1Database, request: Request | undefined): Promise<string | undefined> {
  const handed = request ? handedForms.get(request) : undefined;
  if (!handed) return undefined;
  const { form, presented } = handed;
  const grantType = form.get("grant_type");
  if (grantType === OIDC_GRANT_TYPE.authorizationCode) {
    const code = form.get("code");
    return code ? codeGrantId(code) : undefined;
  }
  if (grantType === OIDC_GRANT_TYPE.refreshToken) {
    const token = form.get("refresh_token");
    const grant = presented ?? (token ? await readRefreshTokenRow(db, token) : undefined);
    if (!grant?.grantId) {
      throw new APIError("BAD_REQUEST", { error: "invalid_grant", error_description: "the grant has ended" });
    }
    return grant.grantId;
  }
  return undefined;
}

/**
 * The org a refresh grant rests on (its refresh token row's `reference_id`,
 * the active org at consent), for the provider's org check at every token
 * (auth/plugins/oauth-provider.ts `customTokenResponseFields`): from the row
 * the grant read before the hand-over, else read here. Undefined for a
 * request handed over by no refresh grant, no row, or a row of no org.
 */
export async function refreshGrantOrgOf(db: D1Database, request: Request | undefined): Promise<string | undefined> {
  const handed = request ? handedForms.get(request) : undefined;
  if (!handed || handed.form.get("grant_type") !== OIDC_GRANT_TYPE.refreshToken) return undefined;
  const token = handed.form.get("refresh_token");
  const grant = handed.presented ?? (token ? await readRefreshTokenRow(db, token) : undefined);
  return grant?.orgId ?? undefined;
}

/**
 * The row of the refresh token a request presents: the one the token Worker
 * read to find whose grant's turn to take (it hands `null` when no row held
 * the token), or, handed none, read here. One read either way.
 */
async function presentedRow(
  db: D1Database,
  request: BrowserGrantRequest,
  token: string,
): Promise<RefreshTokenGrant | undefined> {
  if (request?.presented === null) return undefined;
  return checkedRefreshTokenRow(request?.presented) ?? readRefreshTokenRow(db, token);
}

/**
 * The grant of the refresh token a revocation request names, read before
 * Better Auth answers it: an already revoked token's family is deleted as it
 * answers (its reuse rule), and with it the row that names the grant. When
 * a row holds the token, the request is handed over hinted `refresh_token`:
 * Better Auth looks only where the hint says, and with none it answers an
 * already revoked refresh token as unknown ("token not found"), which would
 * hide that the grant has ended.
 */
export async function revocationGrant(
  db: D1Database,
  request: BrowserGrantRequest,
): Promise<{ grant: RefreshTokenGrant | undefined; handedOver: BrowserGrantRequest }> {
  const form = new URLSearchParams(typeof request?.form === "string" ? request.form : "");
  const token = form.get("token");
  const grant = token ? await presentedRow(db, request, token) : undefined;
  if (!grant) return { grant, handedOver: request };
  form.set("token_type_hint", "refresh_token");
  return { grant, handedOver: { ...request, form: form.toString() } };
}

/**
 * Better Auth's description when the refresh token was revoked already:
 * rotated away (it then ends the family, RFC 9700 §4.14.2), revoked by RFC
 * 7009 before, or by a sign-out everywhere. The grant has ended either way.
 */
const ALREADY_REVOKED = "refresh token revoked";

/**
 * The answer, with the grant whose refresh token it revoked or found revoked
 * (`endedGrant`) when it did: a 200 (Better Auth also answers 200, revoking
 * nothing, for another client's token, so the token Worker compares the
 * client it authenticated) or its "already revoked" refusal. Nothing for an
 * unknown token, an access token, or a refusal of the client.
 */
export function withEndedGrant(answer: BrowserGrantAnswer, grant: RefreshTokenGrant | undefined): BrowserGrantAnswer {
  if (answer.status !== 200 && !(answer.status === 400 && describes(answer.body, ALREADY_REVOKED))) return answer;
  return namingGrant(answer, grant);
}

/**
 * The answer naming the grant a refresh token row rests on (the token
 * Worker then records its cut-off), when the row names both the grant and
 * its org; as it was otherwise (a row from before either was recorded
 * names nothing that could be cut off).
 */
function namingGrant(answer: BrowserGrantAnswer, grant: RefreshTokenGrant | undefined): BrowserGrantAnswer {
  if (!grant?.orgId || !grant.grantId) return answer;
  const endedGrant: EndedBrowserGrant = {
    clientId: grant.clientId,
    userId: grant.userId,
    orgId: grant.orgId,
    grantId: grant.grantId,
  };
  return { ...answer, endedGrant };
}

/**
 * The refresh token a refresh grant presents, as it stood before the hand-over
 * (read by the token Worker to find its grant's turn, oidc/grant-turns.ts
 * there: before the turn, so `revoked` may have changed by the hand-over).
 */
export async function presentedRefreshGrant(
  db: D1Database,
  request: BrowserGrantRequest,
): Promise<RefreshTokenGrant | undefined> {
  const form = new URLSearchParams(typeof request?.form === "string" ? request.form : "");
  if (form.get("grant_type") !== OIDC_GRANT_TYPE.refreshToken) return undefined;
  const token = form.get("refresh_token");
  return token ? presentedRow(db, request, token) : undefined;
}

/**
 * Better Auth's description when it refuses a refresh token of the client
 * named that has not expired: revoked (its reuse rule then ends the family,
 * RFC 9700 §4.14.2), or rotated by another request between its read and its
 * conditional update. Either is a second use of the token.
 */
const REFUSED_REFRESH_TOKEN = "invalid refresh token";

/**
 * RFC 9700 §4.14.2: a refresh token used again after it was rotated away (or
 * revoked) means it leaked, and Better Auth's reuse rule ends the family. The
 * access tokens of that grant end too: the answer names the grant when
 * Better Auth refused, `invalid_grant`, an unexpired token that was revoked
 * already when its row was read, or that it found revoked itself ("invalid
 * refresh token"): the row is read before the grant's turn is taken, so a
 * request for the same token that held the turn first may have rotated it
 * since. Better Auth's other "invalid refresh token" cases, another client's
 * token and an expired one, are the token Worker's client comparison and the
 * expiry checked here, after Better Auth's own; the checks that come between
 * (the client's credentials, the scope, the resource) answer other codes.
 */
export function withReplayedGrant(
  answer: BrowserGrantAnswer,
  grant: RefreshTokenGrant | undefined,
): BrowserGrantAnswer {
  if (!grant || grant.expiresAtMs <= Date.now()) return answer;
  if (answer.status !== 400 || errorOf(answer.body) !== "invalid_grant") return answer;
  if (!grant.revoked && !describes(answer.body, REFUSED_REFRESH_TOKEN)) return answer;
  return namingGrant(answer, grant);
}

/**
 * RFC 6749 §4.1.2: a code used more than once SHOULD have every token
 * issued on it revoked. Better Auth, finding the code consumed, deletes the
 * rows issued on it (its refresh and opaque access tokens) and answers
 * `invalid_grant`, but the JWT access tokens of that grant live on. So the
 * grant a code names is read before the hand-over
 * (shared/oidc/redeemed-code-grant.ts): from a refresh token row whose
 * `authorization_code_id` is the code's stored form (the id the signer
 * stamps as `grant_id`), or, for a code redeemed without a refresh token,
 * from the `redeemed_code_grant` row its redemption wrote
 * (recordCodeRedemption). The same read finds a code whose redemption
 * left only an opaque access token (no `offline_access`, no `resource`):
 * it names the code's client, for the replay of anyone else to be refused
 * before Better Auth deletes that token (oidc/code-client-authentication.ts).
 * No row, nothing: a garbage or random code, or one never redeemed, reads
 * nothing and records nothing.
 */
export async function presentedRedeemedCode(
  db: D1Database,
  request: BrowserGrantRequest,
): Promise<RedeemedCode | undefined> {
  const code = presentedCode(request);
  return code ? redeemedCode(db, await storedTokenForm(code)) : undefined;
}

/**
 * After a code grant answered 200: a redemption without a refresh token
 * leaves no row that names its grant's org, so it writes one for the
 * code's replay to read (shared/oidc/redeemed-code-grant.ts). Still inside
 * the grant's turn. A failed write is logged and the tokens are still
 * answered: the code is spent either way, and only the replay's cut-off
 * (a SHOULD) is lost.
 */
export async function recordCodeRedemption(
  db: D1Database,
  request: BrowserGrantRequest,
  answer: BrowserGrantAnswer,
): Promise<void> {
  const code = answer.status === 200 ? presentedCode(request) : undefined;
  if (!code) return;
  try {
    await recordRedeemedCodeGrant(db, await storedTokenForm(code), answer.body);
  } catch (error) {
    console.error("redeemed code grant not recorded", error);
  }
}

/** The code an `authorization_code` grant request presents. */
function presentedCode(request: BrowserGrantRequest): string | undefined {
  const form = new URLSearchParams(typeof request?.form === "string" ? request.form : "");
  if (form.get("grant_type") !== OIDC_GRANT_TYPE.authorizationCode) return undefined;
  return form.get("code") || undefined;
}

/**
 * The answer to a code grant, naming the code's grant when Better Auth
 * refused it `invalid_grant` and the code's redemption left a row naming
 * its grant: it was redeemed before, so this is a replay (§4.1.2). Better Auth
 * checks the code before it authenticates the client, so the client was
 * authenticated (or, public, named) as the code's own before the hand-over
 * (oidc/code-client-authentication.ts), or its `private_key_jwt` assertion
 * names the code's client, which Better Auth verifies before it reads the
 * code: any other request never got here.
 */
export function withReplayedCode(answer: BrowserGrantAnswer, grant: EndedBrowserGrant | undefined): BrowserGrantAnswer {
  if (!grant || answer.status !== 400 || errorOf(answer.body) !== "invalid_grant") return answer;
  return { ...answer, endedGrant: grant };
}

function errorOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { error?: unknown })?.error;
  } catch {
    return undefined;
  }
}

function describes(body: string, description: string): boolean {
  try {
    return (JSON.parse(body) as { error_description?: unknown })?.error_description === description;
  } catch {
    return false;
  }
}
