import { type AuthRequest, OAuthProvider } from "@cloudflare/workers-oauth-provider";
import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { TRUSTED_HEADER } from "../../../shared/contracts/headers.ts";
import { AssertionSigner } from "../../../workers/gateway/src/assertion/assertion-signer.ts";

/**
 * @cloudflare/workers-oauth-provider in front of the demo service, as someone
 * would deploy it instead of Mono-Auth's gateway: its OAuthProvider verifies
 * the access token (its own opaque token, looked up in KV and its props
 * decrypted) on every request under /api/, then this handler sets the
 * trusted headers and the gateway assertion exactly as the bench's
 * pass-through does, so the demo service does the same work behind every
 * contestant. /authorize approves at once as the bench's one user: the bench
 * measures protected requests, not consent.
 *
 * The Env is spelled out here rather than generated: this file is also
 * type-checked by the root (Node) project, which has no Workers types.
 */
interface Env {
  OAUTH_KV: unknown;
  DEMO: { fetch(request: Request): Promise<Response> };
  OAUTH_PROVIDER: {
    parseAuthRequest(request: Request): Promise<AuthRequest>;
    completeAuthorization(options: {
      request: AuthRequest;
      userId: string;
      metadata: unknown;
      scope: string[];
      props: BenchProps;
    }): Promise<{ redirectTo: string }>;
  };
  /** This Worker's origin: the issuer and resource it advertises. */
  BASE_URL: string;
  /** The system's issuer and API audience: the assertion's `iss` and `aud`, as the gateway signs them. */
  ISSUER: string;
  API_AUDIENCE: string;
  GATEWAY_ASSERTION_KEY: string;
}

/** What OAuthProvider needs of the runtime's ExecutionContext (named here for the Node type check). */
type Context = Parameters<OAuthProvider<Env>["fetch"]>[2];

interface BenchProps {
  userId: string;
  orgId: string;
}

/** The bench user as the pass-through names it (bench/passthrough/src/index.ts), so the demo filters the same rows. */
const USER: BenchProps = { userId: "bench-user", orgId: "bench-org" };
const ABAC_FILTER = JSON.stringify({
  any: [
    { org_id: "bench-org", classification: { in: ["public", "internal"] } },
    { org_id: "bench-org", classification: { in: ["confidential"] } },
  ],
});
const SCOPE = "documents:read";

let signer: Promise<AssertionSigner> | undefined;

const apiHandler = {
  async fetch(request: Request, env: Env, ctx: { props: BenchProps }): Promise<Response> {
    signer ??= AssertionSigner.create(env.GATEWAY_ASSERTION_KEY, env.ISSUER);
    // The demo receives this URL as it is: its path and query are what the assertion binds.
    const url = new URL(request.url);
    const forwarded = new Request(request);
    forwarded.headers.delete("Authorization");
    forwarded.headers.set(TRUSTED_HEADER.userId, ctx.props.userId);
    forwarded.headers.set(TRUSTED_HEADER.orgId, ctx.props.orgId);
    forwarded.headers.set(TRUSTED_HEADER.abacFilter, ABAC_FILTER);
    const assertion = await (await signer).sign({
      audience: env.API_AUDIENCE,
      sub: ctx.props.userId,
      orgId: ctx.props.orgId,
      act: undefined,
      clientId: "bench-workers-oauth-provider",
      decisionId: crypto.randomUUID(),
      abacFilter: ABAC_FILTER,
      method: request.method,
      path: url.pathname,
      search: url.search,
    });
    forwarded.headers.set(TRUSTED_HEADER.gatewayAssertion, assertion);
    return env.DEMO.fetch(forwarded);
  },
};

const defaultHandler = {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (new URL(request.url).pathname !== "/authorize") return new Response("not found", { status: 404 });
    const authRequest = await env.OAUTH_PROVIDER.parseAuthRequest(request);
    const { redirectTo } = await env.OAUTH_PROVIDER.completeAuthorization({
      request: authRequest,
      userId: USER.userId,
      metadata: {},
      scope: authRequest.scope,
      props: USER,
    });
    return Response.redirect(redirectTo, 302);
  },
};

let provider: OAuthProvider<Env> | undefined;

export default {
  fetch(request: Request, env: Env, ctx: Context): Promise<Response> {
    // The resource is this Worker's own origin, known only from its vars.
    provider ??= new OAuthProvider<Env>({
      apiRoute: ENDPOINT.documents,
      apiHandler: apiHandler as never,
      defaultHandler: defaultHandler as never,
      authorizeEndpoint: "/authorize",
      tokenEndpoint: "/oauth/token",
      clientRegistrationEndpoint: "/oauth/register",
      scopesSupported: [SCOPE],
      accessTokenTTL: 3600,
      resourceMetadata: {
        resource: `${env.BASE_URL}/api`,
        authorization_servers: [env.BASE_URL],
      },
      requiredScopes: [SCOPE],
    });
    return provider.fetch(request, env, ctx);
  },
};
