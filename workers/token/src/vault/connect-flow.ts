import { base64url } from "jose";
import { and, eq, gt, lte } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { VAULT_CONNECT_STATE_TTL_SECONDS, VAULT_PATH } from "../../../../shared/contracts/vault.ts";
import { vaultConnectState } from "../../../../shared/db/vault-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { type ConnectionRow, type OwnerKind, saveConnection } from "./connections.ts";
import { VaultError } from "./errors.ts";
import { requireFlowFinisher } from "./flow-finisher.ts";
import { getProvider, type ProviderRow, providerClient } from "./providers.ts";
import { openField, sealField } from "./sealed-field.ts";
import { requestUpstreamTokens } from "./upstream-token.ts";
import { orgDataKey } from "./vault-key.ts";

/**
 * The browser session a flow is bound to; the callback must come from it
 * (RFC 6749 §10.12). Every flow has one: a person's own, an admin's console
 * session, or the session of the admin who confirmed an operator's connect
 * link (connect-link.ts). An operator client has no browser, so it starts no
 * flow at the provider itself.
 */
export type FlowBinding = { session: string };

function boundTo(binding: FlowBinding): string {
  return `session:${binding.session}`;
}

async function sha256(value: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))));
}

function randomValue(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

/** The redirect URI registered at every provider: exactly our callback (RFC 6749 §3.1.2, RFC 9700 §4.1.1). */
export function vaultRedirectUri(issuer: string): string {
  return `${issuer}${VAULT_PATH.callback}`;
}

function verifierPlace(orgId: string, stateHash: string) {
  return { orgId, table: "vault_connect_state", rowId: stateHash, column: "code_verifier" };
}

export interface StartConnect {
  provider: ProviderRow;
  ownerKind: OwnerKind;
  ownerId: string;
  binding: FlowBinding;
}

/**
 * Starts a connection flow (RFC 6749 §4.1.1 with PKCE S256, RFC 7636 §4):
 * a fresh `state` and code verifier, kept as the state's hash and the
 * verifier sealed, bound to whoever started it. Returns where to send the
 * browser.
 */
export async function startConnect(
  db: D1Database,
  secret: string,
  issuer: string,
  start: StartConnect,
): Promise<{ authorizationUrl: string; expiresAt: Date }> {
  const { provider } = start;
  const state = randomValue();
  const verifier = randomValue();
  const stateHash = await sha256(state);
  const now = Date.now();
  const expiresAt = new Date(now + VAULT_CONNECT_STATE_TTL_SECONDS * 1000);
  const key = await orgDataKey(db, secret, provider.orgId);
  const orm = drizzle(db);
  // Flows nobody finished are dropped as new ones start (the org's only): the table holds live flows, not history.
  await orm.batch([
    orm
      .delete(vaultConnectState)
      .where(and(eq(vaultConnectState.orgId, provider.orgId), lte(vaultConnectState.expiresAt, new Date(now)))),
    orm.insert(vaultConnectState).values({
      stateHash,
      orgId: provider.orgId,
      providerId: provider.id,
      ownerKind: start.ownerKind,
      ownerId: start.ownerId,
      boundTo: boundTo(start.binding),
      codeVerifierSealed: await sealField(key, verifierPlace(provider.orgId, stateHash), verifier),
      expiresAt,
      createdAt: new Date(now),
    }),
  ]);
  const url = new URL(provider.authorizationEndpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", provider.clientId);
  url.searchParams.set("redirect_uri", vaultRedirectUri(issuer));
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", await sha256(verifier));
  url.searchParams.set("code_challenge_method", "S256");
  if (provider.scopes) url.searchParams.set("scope", provider.scopes);
  return { authorizationUrl: url.toString(), expiresAt };
}

/**
 * Finishes a connection flow at our callback: the state is spent by one
 * conditional DELETE (single use, unexpired), must be bound to the same
 * session, whose person must still be one who may start it
 * (flow-finisher.ts), and only then is the code exchanged
 * with its verifier (RFC 6749 §4.1.3, RFC 7636 §4.5). Refusals:
 * 400 `invalid_state` (missing, unknown, spent, expired or another
 * session's state: CSRF, RFC 6749 §10.12), 403 `forbidden` (demoted or
 * removed since the flow started), 502 `connection_failed` (the
 * provider answered an error, or its token endpoint refused the code).
 */
export async function completeConnect(
  db: D1Database,
  secret: string,
  issuer: string,
  url: URL,
  finisher: { sessionId: string; userId: string } | undefined,
): Promise<ConnectionRow> {
  const state = url.searchParams.get("state");
  if (!state) throw new HttpError("invalid_state", "the callback carries no state");
  const stateHash = await sha256(state);
  const flow = await drizzle(db)
    .delete(vaultConnectState)
    .where(and(eq(vaultConnectState.stateHash, stateHash), gt(vaultConnectState.expiresAt, new Date())))
    .returning()
    .get();
  if (!flow) throw new HttpError("invalid_state", "unknown, spent or expired state");
  // Every flow is bound to a session (a row bound to anything else, such as an operator client before
  // connect links, is refused): a link or code carried to another browser saves nothing there.
  if (!finisher || flow.boundTo !== `session:${finisher.sessionId}`)
    throw new HttpError("invalid_state", "this flow was started by another session");
  await requireFlowFinisher(db, flow, finisher.userId);
  // RFC 6749 §4.1.2.1: the provider refused (the person declined, or the request was bad). Its `error`
  // is a code (§4.1.2.1: ASCII, no spaces) but the provider writes it, so any other text is not repeated
  // on our origin: the answer names the code only when it looks like one, as at the token endpoint.
  const upstreamError = url.searchParams.get("error");
  if (upstreamError !== null)
    throw new HttpError(
      "connection_failed",
      /^[a-z_]{1,64}$/.test(upstreamError) ? `the provider answered ${upstreamError}` : "the provider refused",
    );
  const code = url.searchParams.get("code");
  if (!code) throw new HttpError("connection_failed", "the provider's answer carries no code");
  const provider = await getProvider(db, flow.orgId, flow.providerId);
  if (!provider) throw new HttpError("connection_failed", "the provider was removed during the flow");
  const key = await orgDataKey(db, secret, flow.orgId);
  const verifier = await openField(key, verifierPlace(flow.orgId, stateHash), flow.codeVerifierSealed);
  let tokens: Awaited<ReturnType<typeof requestUpstreamTokens>>;
  try {
    tokens = await requestUpstreamTokens(await providerClient(db, secret, provider), {
      grant_type: "authorization_code",
      code,
      redirect_uri: vaultRedirectUri(issuer),
      code_verifier: verifier,
    });
  } catch (error) {
    if (error instanceof VaultError) throw new HttpError("connection_failed", error.message);
    throw error;
  }
  return saveConnection(db, secret, {
    provider,
    ownerKind: flow.ownerKind,
    ownerId: flow.ownerId,
    tokens,
    // A person connecting their own account is named; a flow for the org is
    // named by the session of the admin who started or confirmed it.
    createdBy: flow.ownerKind === "user" ? `user:${flow.ownerId}` : flow.boundTo,
  });
}
