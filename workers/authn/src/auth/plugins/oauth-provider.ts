import { type ClientDiscovery, oauthProvider } from "@better-auth/oauth-provider";
import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { jwt } from "better-auth/plugins";
import { ENDPOINT } from "../../../../../shared/contracts/endpoints.ts";
import { OIDC_CLIENT_ID_PREFIX, OIDC_GRANT_TYPE, OIDC_SCOPE } from "../../../../../shared/contracts/oidc.ts";
import { ALL_SCOPES } from "../../../../../shared/contracts/scopes.ts";
import { MAX_ACCESS_TOKEN_TTL_SECONDS, SIGNING_ALG } from "../../../../../shared/contracts/tokens.ts";
import { hashSecret, verifySecret } from "../../../../../shared/crypto/secret-hash.ts";
import { assertClientOrg } from "../../mcp-clients/org-clients.ts";
import { BROWSER_PROVIDER_DPOP } from "../../oidc/dpop-proof-options.ts";
import type { JWTPayload } from "jose";

/** The jwt plugin's `sign` hook: Better Auth builds the claims, the one issuer signs them. */
export type IssuerSign = (payload: JWTPayload, header?: { typ?: string; cty?: string }) => Promise<string>;

/**
 * What the running Worker gives the provider (oidc/runtime.ts); the schema
 * generator (scripts/auth.cli.ts, in Node) passes none, so nothing here may
 * need a binding's type.
 */
export interface OidcRuntime {
  /** Signs with the token Worker's key (oidc/issuer-signer.ts). */
  sign: IssuerSign;
  /** The access token's `org_id`, checked against the person's memberships (oidc/org-claim.ts). */
  orgClaim: (userId: string | undefined, orgId: string | undefined) => Promise<{ org_id: string }>;
  /** The org of the refresh token the current refresh grant presents (oidc/browser-grant.ts). */
  refreshGrantOrg: () => Promise<string | undefined>;
  /** RFC 8707 resources a browser client may ask tokens for (the API's audience). */
  resources: readonly string[];
  /** MCP clients' Client ID Metadata Documents (mcp-clients/client-discovery.ts), and the resources such a client may ask for. */
  clientDiscovery?: ClientDiscovery;
  metadataDocumentResources?: readonly string[];
  /** The org's registered MCP servers as resources (mcp-clients/org-resources.ts): its authorize hook, and the check at every token. */
  orgResources?: { plugin: BetterAuthPlugin; assertActiveIn: (orgId: string, resources?: string[]) => Promise<void> };
}

/** The session's active org, which a consent and its grant are for (Better Auth's organization plugin keeps it). */
function activeOrg(session: unknown): string | undefined {
  return (session as { activeOrganizationId?: string | null } | undefined)?.activeOrganizationId ?? undefined;
}

const signerUnavailable: IssuerSign = async () => {
  throw new Error("no signer: the plugins were built without bindings");
};

/** OIDC Core §3.1.2.1 / §11 scopes, then the scopes a person's token may carry (never `admin`). */
export const OIDC_PROVIDER_SCOPES = [...Object.values(OIDC_SCOPE), ...ALL_SCOPES];

/** An ID token needs to outlive neither the access token nor the issuer's cap (shared/contracts/oidc.ts). */
const ID_TOKEN_TTL_SECONDS = 3600;
/** RFC 9700 §4.14.2: refresh tokens rotate; a family ends after this at the latest. */
const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
/** RFC 6749 §4.1.2: codes are short-lived; one minute covers any honest redirect. */
const CODE_TTL_SECONDS = 60;

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

/**
 * The jwt plugin's own endpoint would hand a signed-in person a JWT of their
 * session: not a token this issuer issues (the signer refuses it,
 * oidc/issuer-signer.ts), so the path does not exist.
 */
const noSessionJwt = {
  id: "mono-auth-no-session-jwt",
  hooks: {
    before: [
      {
        matcher: (ctx) => ctx.path === "/token",
        handler: createAuthMiddleware(async () => {
          throw new APIError("NOT_FOUND");
        }),
      },
    ],
  },
} satisfies BetterAuthPlugin;

/**
 * The OAuth 2.1 / OpenID provider for browser flows: authorization code with
 * PKCE S256, a consent page, refresh-token rotation. Its tokens are signed by
 * the one issuer (DESIGN.md "One issuer"): the jwt plugin's `sign` hands every
 * claim set to the token Worker, which checks it and signs with the key
 * published at ENDPOINT.jwks; the token Worker serves the metadata and the
 * token endpoint (which forwards this provider's grants here).
 */
export function oauthProviderPlugins(issuer: string, runtime?: OidcRuntime) {
  const sign = runtime?.sign ?? signerUnavailable;
  return [
    jwt({
      // `remoteUrl` turns Better Auth's own JWKS endpoint off (its `jwks`
      // table stays empty) and is where it fetches keys when it verifies one
      // of these tokens itself (userinfo with a JWT access token).
      jwks: { remoteUrl: `${issuer}${ENDPOINT.jwks}`, keyPairConfig: { alg: SIGNING_ALG } },
      jwt: { issuer, sign },
      // No session JWT in a response header: only OAuth clients get tokens.
      disableSettingJwtHeader: true,
    }),
    noSessionJwt,
    ...(runtime?.orgResources ? [runtime.orgResources.plugin] : []),
    oauthProvider({
      loginPage: ENDPOINT.signIn,
      consentPage: ENDPOINT.consent,
      scopes: OIDC_PROVIDER_SCOPES,
      resources: [...(runtime?.resources ?? [])],
      // RFC 8707 §2: a client gets tokens only for the resources its
      // registration names (admin/oidc-clients.ts in the token Worker links them).
      enforcePerClientResources: true,
      // The token Worker owns client_credentials (workers/token/src/grants).
      grantTypes: [OIDC_GRANT_TYPE.authorizationCode, OIDC_GRANT_TYPE.refreshToken],
      // GHSA-9h47-pqcx-hjr4: no open registration; clients come from the
      // operator's admin API only. The spread keeps the unauthenticated form off too.
      allowDynamicClientRegistration: false,
      allowUnauthenticatedClientRegistration: false,
      allowPublicClientPrelogin: false,
      // Nobody registers, reads or edits clients or resources through Better
      // Auth's API, signed in or not: operators do, through the admin API
      // (workers/token/src/admin/oidc-clients.ts).
      clientPrivileges: async () => false,
      resourcePrivileges: async () => false,
      accessTokenExpiresIn: MAX_ACCESS_TOKEN_TTL_SECONDS,
      idTokenExpiresIn: ID_TOKEN_TTL_SECONDS,
      refreshTokenExpiresIn: REFRESH_TOKEN_TTL_SECONDS,
      codeExpiresIn: CODE_TTL_SECONDS,
      // RFC 9700 §4.14.2 / GHSA-pw9m-5jxm-xr6h: any second use of a rotated
      // refresh token is replay, and ends the family.
      refreshTokenReuseInterval: 0,
      // RFC 9449 §4.3 step 5: the algorithms the metadata advertises and the token Worker verifies, not Better Auth's defaults.
      dpop: BROWSER_PROVIDER_DPOP,
      generateClientId: () => `${OIDC_CLIENT_ID_PREFIX}${randomId()}`,
      // An https client_id is a Client ID Metadata Document (mcp-clients/), the MCP spec's preferred registration.
      extensions: runtime?.clientDiscovery ? [{ clientDiscovery: runtime.clientDiscovery }] : [],
      clientRegistrationDefaultResources: [...(runtime?.metadataDocumentResources ?? [])],
      // The same secret hash as the machine clients (shared/crypto), so the
      // token Worker's admin API can register browser clients too.
      storeClientSecret: { hash: hashSecret, verify: (secret, stored) => verifySecret(secret, stored) },
      // The active org at consent becomes the grant's reference, and each
      // access token's `org_id` (oidc/org-claim.ts).
      postLogin: {
        page: ENDPOINT.consent,
        // With no active org, an authorize never skips to a code on an earlier consent (Better Auth
        // then looks consents up by person and client alone, whatever their org): the code would be of
        // no org, which every token request refuses. The consent page asks for an org instead
        // (oidc/consent.tsx), and `prompt=none` is `interaction_required` (OIDC Core §3.1.2.6).
        shouldRedirect: ({ session }) => !activeOrg(session),
        consentReferenceId: ({ session }) => activeOrg(session),
      },
      // Every token a code or refresh token yields, before any is minted: Better Auth calls
      // customAccessTokenClaims for a JWT access token only, so a grant that names no RFC 8707
      // resource (an opaque access token, an ID token, a refresh token) went on yielding tokens for a
      // person who had left the org or was banned, and to a client of another org. RFC 6749 §5.2
      // invalid_grant, as for a JWT; the claim is read once for both hooks (oidc/runtime.ts).
      customTokenResponseFields: async ({ grantType, user, metadata, verificationValue }) => {
        if (!user) return {};
        if (!runtime) throw new Error("no bindings");
        const orgId =
          grantType === OIDC_GRANT_TYPE.authorizationCode
            ? verificationValue?.referenceId
            : await runtime.refreshGrantOrg();
        const claim = await runtime.orgClaim(user.id, orgId);
        assertClientOrg(metadata, claim.org_id);
        return {};
      },
      customAccessTokenClaims: async ({ user, referenceId, resources, metadata }) => {
        if (!runtime) throw new Error("no bindings");
        const claim = await runtime.orgClaim(user?.id, referenceId);
        assertClientOrg(metadata, claim.org_id);
        // RFC 8707 §2 at every token a code or refresh token yields: an org's server, still active in this org.
        await runtime.orgResources?.assertActiveIn(claim.org_id, resources);
        return claim;
      },
      // `oauth_client` is the token Worker's table of machine and agent
      // clients (shared/db/machine-schema.ts); the browser provider's tables
      // carry an `oidc_` prefix so the two never meet.
      schema: {
        oauthClient: { modelName: "oidcClient" },
        oauthResource: { modelName: "oidcResource" },
        oauthClientResource: { modelName: "oidcClientResource" },
        oauthRefreshToken: { modelName: "oidcRefreshToken" },
        oauthAccessToken: { modelName: "oidcAccessToken" },
        oauthConsent: { modelName: "oidcConsent" },
        oauthClientAssertion: { modelName: "oidcClientAssertion" },
      },
    }),
  ];
}
