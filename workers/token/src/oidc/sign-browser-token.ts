import { SignJWT } from "jose";
import type { AuditEventInput } from "../../../../shared/audit/record-audit.ts";
import {
  BACKCHANNEL_LOGOUT_EVENT,
  BROWSER_GRANT_ID,
  MAX_ID_TOKEN_TTL_SECONDS,
  MAX_LOGOUT_TOKEN_TTL_SECONDS,
  OIDC_CLIENT_ID_PREFIX,
  OIDC_SCOPE,
  userinfoAudience,
} from "../../../../shared/contracts/oidc.ts";
import { isHeaderSafeIdentifier } from "../../../../shared/contracts/headers.ts";
import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import type {
  BrowserTokenSigningRequest,
  BrowserTokenSigningResult,
} from "../../../../shared/contracts/token-service.ts";
import {
  CLOCK_TOLERANCE_SECONDS,
  JWT_TYP,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  SIGNING_ALG,
} from "../../../../shared/contracts/tokens.ts";
import type { TokenConfig } from "../config.ts";
import { currentSigningKey, type KeyStore } from "../keys/signing-keys.ts";

/** Scopes a browser-flow token may carry: OIDC's own and those a person's token may hold (never `admin`). */
const BROWSER_SCOPES: ReadonlySet<string> = new Set([...Object.values(OIDC_SCOPE), ...ALL_SCOPES]);

class ClaimRefused extends Error {}

/**
 * Signs a token of the authn Worker's OpenID provider with the issuer's
 * current key (DESIGN.md "One issuer"). The provider builds the claims; this
 * is the one place that decides whether the issuer puts its name to them, so
 * a bug or a compromise in the browser flow cannot mint what the issuer
 * never issues: another `iss`, an audience the issuer does not serve, a
 * token without an org, `admin`, an `act` chain, a longer life.
 */
export async function signBrowserToken(
  keys: KeyStore,
  config: Pick<TokenConfig, "issuer" | "allowedAudiences">,
  request: BrowserTokenSigningRequest,
  bindings: {
    registeredAudiences: RegisteredAudiences;
    recordClientOrg: RecordClientOrg;
    recordSessionClient: RecordSessionClient;
  },
): Promise<BrowserTokenSigningResult> {
  try {
    const claims = request?.claims;
    if (!claims || typeof claims !== "object") throw new ClaimRefused("no claims");
    if (claims.iss !== config.issuer) throw new ClaimRefused("iss");
    if (!isNonEmptyString(claims.sub)) throw new ClaimRefused("sub");
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== "number" || Math.abs(iat - now) > CLOCK_TOLERANCE_SECONDS) throw new ClaimRefused("iat");
    if (typeof exp !== "number" || exp <= iat) throw new ClaimRefused("exp");

    // OIDC Back-Channel Logout 1.0 §2.4: only a Logout Token carries `events`, so an RP that
    // skips the `typ` check still cannot take an ID token or access token for one.
    if (request.kind !== "logout_token" && claims.events !== undefined) throw new ClaimRefused("events");
    let typ: string;
    if (request.kind === "access_token") {
      checkAccessTokenClaims(claims, config, await orgServers(claims, bindings.registeredAudiences));
      if (exp - iat > MAX_ACCESS_TOKEN_TTL_SECONDS) throw new ClaimRefused("lifetime");
      // Before the signature exists: whoever disables the client then knows every org to revoke it in.
      await bindings.recordClientOrg(claims.client_id as string, claims.org_id as string);
      typ = JWT_TYP.accessToken;
    } else if (request.kind === "id_token") {
      // OIDC Core §2: `aud` is the client the person signed in to.
      if (!isNonEmptyString(claims.aud) || !isBrowserClientId(claims.aud)) throw new ClaimRefused("aud");
      if (exp - iat > MAX_ID_TOKEN_TTL_SECONDS) throw new ClaimRefused("lifetime");
      typ = JWT_TYP.idToken;
    } else if (request.kind === "logout_token") {
      checkLogoutTokenClaims(claims);
      if (exp - iat > MAX_LOGOUT_TOKEN_TTL_SECONDS) throw new ClaimRefused("lifetime");
      typ = JWT_TYP.logoutToken;
    } else {
      throw new ClaimRefused("kind");
    }

    // Before the signature exists: whoever ends the session then knows this client holds a token of it,
    // and sends it a Logout Token if it asked for one (workers/authn/src/oidc/backchannel-logout.ts).
    const holder = request.kind === "id_token" ? claims.aud : claims.client_id;
    if (request.kind !== "logout_token" && isNonEmptyString(claims.sid) && isNonEmptyString(holder)) {
      await bindings.recordSessionClient(claims.sid, holder);
    }

    const key = await currentSigningKey(keys);
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: SIGNING_ALG, typ, kid: key.kid })
      .sign(key.privateKey);
    return { ok: true, token };
  } catch (error) {
    if (error instanceof ClaimRefused) return { ok: false, error: `refused claim: ${error.message}` };
    throw error;
  }
}

/**
 * Records that the client holds access tokens for the org (D1
 * `oidc_client_org`, oidc/browser-client-store.ts); a failure throws, and
 * nothing is signed.
 */
export type RecordClientOrg = (clientId: string, orgId: string) => Promise<void>;

/**
 * Records that the client was issued a token naming the session (D1
 * `oidc_session_client`, oidc/browser-client-store.ts); a failure throws,
 * and nothing is signed.
 */
export type RecordSessionClient = (sessionId: string, clientId: string) => Promise<void>;

/** The MCP servers among `audiences` that the org has registered and active (mcp/audiences.ts). */
export type RegisteredAudiences = (orgId: string, audiences: readonly string[]) => Promise<string[]>;

/** The token's audiences that are MCP servers its org serves (the authn Worker checked them at authorize and token, workers/authn/src/mcp-clients/org-resources.ts; checked again here). */
async function orgServers(claims: Record<string, unknown>, registered: RegisteredAudiences): Promise<Set<string>> {
  const audiences = typeof claims.aud === "string" ? [claims.aud] : claims.aud;
  if (!isNonEmptyString(claims.org_id) || !Array.isArray(audiences)) return new Set();
  const strings = audiences.filter((a): a is string => typeof a === "string");
  return new Set(await registered(claims.org_id, strings));
}

/** RFC 9068 §2.2 plus what the gateway requires of every access token (shared/jwt/verify-access-token.ts). */
function checkAccessTokenClaims(
  claims: Record<string, unknown>,
  config: Pick<TokenConfig, "issuer" | "allowedAudiences">,
  orgServed: ReadonlySet<string>,
): void {
  for (const claim of ["jti", "client_id", "org_id"] as const) {
    if (!isNonEmptyString(claims[claim])) throw new ClaimRefused(claim);
  }
  // The gateway hands these on as X-User-ID and X-Org-ID: each must be a header value as it stands
  // (RFC 9110 §5.5, shared/contracts/headers.ts), whatever Better Auth's rows hold.
  for (const claim of ["sub", "org_id"] as const) {
    if (!isHeaderSafeIdentifier(claims[claim] as string)) throw new ClaimRefused(claim);
  }
  if (!isBrowserClientId(claims.client_id as string)) throw new ClaimRefused("client_id");
  // RFC 8707 §2: only resources the issuer serves, plus the provider's own
  // userinfo endpoint; at least one real resource (a userinfo-only token is opaque).
  const audiences = typeof claims.aud === "string" ? [claims.aud] : claims.aud;
  if (!Array.isArray(audiences) || audiences.length === 0) throw new ClaimRefused("aud");
  const userinfo = userinfoAudience(config.issuer);
  let served = 0;
  for (const aud of audiences) {
    if (typeof aud === "string" && (config.allowedAudiences.has(aud) || orgServed.has(aud))) served++;
    else if (aud !== userinfo) throw new ClaimRefused("aud");
  }
  if (served === 0) throw new ClaimRefused("aud");
  if (typeof claims.scope !== "string" || !claims.scope.split(" ").every((s) => BROWSER_SCOPES.has(s))) {
    throw new ClaimRefused("scope");
  }
  // Delegation chains come only from token exchange (grants/token-exchange*.ts).
  if (claims.act !== undefined || claims.may_act !== undefined) throw new ClaimRefused("act");
  // RFC 7009 §2.1: revoking the grant's refresh token cuts off every access token it yielded, by this claim
  // (BROWSER_GRANT_ID): none is signed that the revocation could miss. A chain of grants comes only from an exchange.
  if (typeof claims.grant_id !== "string" || !BROWSER_GRANT_ID.test(claims.grant_id)) {
    throw new ClaimRefused("grant_id");
  }
  if (claims.grant_chain !== undefined) throw new ClaimRefused("grant_chain");
  if (claims.grant_chain_clients !== undefined) throw new ClaimRefused("grant_chain_clients");
  if (claims.derived_from !== undefined) throw new ClaimRefused("derived_from");
}

/**
 * OIDC Back-Channel Logout 1.0 §2.4: one client in `aud`, a `jti`, `sub` and
 * `sid` (Better Auth sends both; our registrations promise `sid`), `events`
 * holding exactly the back-channel logout event as an empty object, and never
 * a `nonce` (which would let the token pass for an ID token, §2.4).
 */
function checkLogoutTokenClaims(claims: Record<string, unknown>): void {
  if (!isNonEmptyString(claims.aud) || !isBrowserClientId(claims.aud)) throw new ClaimRefused("aud");
  for (const claim of ["jti", "sub", "sid"] as const) {
    if (!isNonEmptyString(claims[claim])) throw new ClaimRefused(claim);
  }
  if (claims.nonce !== undefined) throw new ClaimRefused("nonce");
  const events = claims.events;
  if (typeof events !== "object" || events === null || Array.isArray(events)) throw new ClaimRefused("events");
  const names = Object.keys(events);
  const event = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
  if (names.length !== 1 || typeof event !== "object" || event === null || Object.keys(event).length !== 0) {
    throw new ClaimRefused("events");
  }
  if (claims.act !== undefined || claims.scope !== undefined) throw new ClaimRefused("claims");
}

/** An operator-registered browser client, or an MCP client known by its metadata document's https URL (workers/authn/src/mcp-clients). */
export function isBrowserClientId(clientId: string): boolean {
  return clientId.startsWith(OIDC_CLIENT_ID_PREFIX) || clientId.startsWith("https://");
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** `token.issued` for a browser-flow access token (checked and signed above): who got it, never the token. */
export function browserTokenIssuedEvent(claims: Record<string, unknown>): AuditEventInput {
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  return {
    kind: "token.issued",
    outcome: "issued",
    orgId: text(claims.org_id),
    subject: text(claims.sub),
    clientId: text(claims.client_id),
    detail: {
      channel: "rpc",
      flow: "browser",
      jti: text(claims.jti) ?? "",
      aud: Array.isArray(claims.aud) ? claims.aud.join(" ") : (text(claims.aud) ?? ""),
      scope: text(claims.scope) ?? "",
      exp: typeof claims.exp === "number" ? claims.exp : 0,
      ...(text(claims.sid) ? { sid: text(claims.sid) as string } : {}),
    },
  };
}
