// A person's authorizations of a browser client, and how the issuer and the
// org's object judge their tokens afterwards: for the tests of what ends a
// grant's access tokens (oidc-grant-revocation.test.ts: a revoked or reused
// refresh token; oidc-code-replay-grant.test.ts: a replayed code;
// oidc-grant-*fold*.test.ts: a person's many revocations at one client).
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { expect } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";
import { type Client, pkce, REDIRECT_URI, type TokenResponse } from "../support/runtime/browser-oidc.ts";
import { API, introspection, oidc } from "./oidc-fixture.ts";

export type Person = Awaited<ReturnType<typeof oidc.signUp>>;

/** An authorization of `client` by `person`, its code not yet redeemed: the token request's fields. */
export async function authorized(
  person: Person,
  client: Client,
  options: { resource?: string | null; scope?: string } = {},
): Promise<Record<string, string>> {
  const resource = options.resource === undefined ? API : options.resource;
  const { verifier, challenge } = await pkce();
  const back = await oidc.authorizeAndConsent(
    oidc.codeRequest(client.clientId, challenge, {
      resource: resource ?? undefined,
      ...(options.scope ? { scope: options.scope } : {}),
    }),
    person.cookie,
  );
  return {
    grant_type: "authorization_code",
    code: back.searchParams.get("code") ?? "",
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    ...(resource ? { resource } : {}),
  };
}

/** A token endpoint's 200 answer. */
export async function tokens(response: Response): Promise<TokenResponse> {
  expect(response.status).toBe(200);
  return (await response.json()) as TokenResponse;
}

/** One authorization of `client` by `person` (a device of theirs): the code's tokens. */
export async function grant(person: Person, client: Client, resource: string | null = API): Promise<TokenResponse> {
  return tokens(await oidc.tokenRequest(await authorized(person, client, { resource }), client));
}

export function refresh(refreshToken: string, client: Client) {
  return oidc.tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken, resource: API }, client);
}

/** RFC 7662 at the issuer's endpoint, as the client that holds the token asks. */
export async function active(token: string, client: Client): Promise<boolean> {
  const response = await introspection({ token }, client);
  expect(response.status).toBe(200);
  return ((await response.json()) as { active: boolean }).active;
}

/** What the gateway and every other verifier ask: whether the org's Durable Object cuts the token off. */
export function revokedInOrg(accessToken: string): Promise<boolean> {
  const claims = decodeJwt(accessToken) as unknown as RevocableClaims;
  return env.ORG_STATE.getByName(orgStateName(claims.org_id)).isRevoked(claims);
}

/** The org's Durable Object (its revocations, its snapshot). */
export const orgState = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

/** The gateway's own check (its revocation view, no staleness) on the token's signed claims. */
export function refusedAtGateway(accessToken: string): Promise<boolean> {
  const view = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 });
  return view.isRevoked(decodeJwt(accessToken) as unknown as AccessTokenClaims);
}

/** `count` earlier grant revocations of the person's, for the client, as the token Worker records them. */
export async function earlierRevocations(person: Person, sub: string, client: Client, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await orgState(person.orgId).revokeBrowserGrant({
      orgId: person.orgId,
      grantId: `oidc-grant:earlier-${crypto.randomUUID()}`,
      clientId: client.clientId,
      subject: sub,
      reason: `rfc7009 refresh token by ${client.clientId}`,
    });
  }
}

export async function oauthError(response: Response) {
  return { status: response.status, error: ((await response.json()) as { error: string }).error };
}
