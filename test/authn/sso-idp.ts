/**
 * An org's upstream OpenID Provider, scripted, for driving @better-auth/sso's
 * real callback (`/sso/callback/:providerId`) inside the runtime. The IdP is
 * the one thing outside the deployment: the Worker's own server-side fetches
 * to its token and userinfo endpoints (the plugin's `betterFetch`, which
 * calls `globalThis.fetch`) are answered here, every other fetch goes out
 * unchanged. It answers as a code-flow IdP without an ID token (the plugin
 * then reads the userinfo endpoint, OIDC Core §5.3), for whoever `person` is
 * when the callback redeems the code. test/e2e/sso-oidc.test.ts drives the
 * same callback through a real `oidc-provider` over HTTP.
 */
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { api, cookiesFrom, get } from "./helpers.ts";

export interface IdpPerson {
  sub: string;
  email: string;
  email_verified?: boolean;
  name?: string;
}

export const IDP_ISSUER = "https://idp.upstream.example";

let person: IdpPerson | undefined;
let stub: typeof fetch | undefined;

/** An IdP endpoint's answer in place of the script's own (test/authn/sso-upstream-limits.test.ts). */
export type IdpAnswer = (person: IdpPerson | undefined) => Response | Promise<Response>;
let answers: Record<string, IdpAnswer> = {};

/** Answers by path (`/token`, `/userinfo`, `/jwks`, discovery) that replace the script's own until the next call. */
export function scriptIdp(byPath: Record<string, IdpAnswer> = {}): void {
  answers = byPath;
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
}

/** Routes the IdP's endpoints to the script; idempotent, and again after vitest restores the globals. */
export function installIdp(): void {
  if (stub !== undefined && globalThis.fetch === stub) return;
  const upstream = globalThis.fetch;
  stub = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== IDP_ISSUER) return upstream(input, init);
    const scripted = answers[url.pathname];
    if (scripted) return scripted(person);
    if (url.pathname === "/token") return json({ access_token: `at-${crypto.randomUUID()}`, token_type: "Bearer" });
    if (url.pathname === "/userinfo") {
      if (!person) return new Response(null, { status: 401 });
      return json({ name: "Alice", email_verified: true, ...person });
    }
    return new Response(null, { status: 404 });
  };
  vi.stubGlobal("fetch", stub);
}

/**
 * Registers an OIDC provider for the org with `domain`, as its owner does
 * (`/sso/register`), and marks the domain as `/sso/verify-domain` does on a
 * DNS proof (no DNS zone can be published from a test), unless `verified`
 * is false.
 */
export async function registerIdp(orgId: string, ownerCookie: string, domain: string, verified = true) {
  const providerId = `idp-${crypto.randomUUID().slice(0, 8)}`;
  const response = await api(
    "/sso/register",
    {
      providerId,
      issuer: IDP_ISSUER,
      domain,
      organizationId: orgId,
      oidcConfig: {
        clientId: "mono-auth",
        clientSecret: "upstream-secret",
        skipDiscovery: true,
        pkce: true,
        authorizationEndpoint: `${IDP_ISSUER}/authorize`,
        tokenEndpoint: `${IDP_ISSUER}/token`,
        userInfoEndpoint: `${IDP_ISSUER}/userinfo`,
        jwksEndpoint: `${IDP_ISSUER}/jwks`,
      },
    },
    { Cookie: ownerCookie },
  );
  if (response.status !== 200) throw new Error(`SSO registration failed: ${response.status} ${await response.text()}`);
  if (verified) {
    await env.DB.prepare("UPDATE sso_provider SET domain_verified = 1 WHERE provider_id = ?").bind(providerId).run();
  }
  return providerId;
}

/**
 * A browser's SSO sign-in: our `/sign-in/sso`, the IdP authenticating
 * `who`, and our callback with the code and state it hands back. The
 * callback's answer (a redirect: `/app` on success, `?error=` otherwise).
 */
export async function signInThroughIdp(providerId: string, who: IdpPerson) {
  installIdp();
  const started = await api("/sign-in/sso", { providerId, callbackURL: "/app" });
  if (started.status !== 200) return started;
  const { url } = (await started.json()) as { url: string };
  const state = new URL(url).searchParams.get("state") ?? "";
  person = who;
  const query = new URLSearchParams({ code: `code-${crypto.randomUUID()}`, state });
  return get(`/api/auth/sso/callback/${providerId}?${query}`, { Cookie: cookiesFrom(started) });
}

/** Where the callback sent the browser: its path and its `error`, if any. */
export function landing(response: Response): { path: string; error: string | null } {
  const location = new URL(response.headers.get("Location") ?? "", env.ISSUER);
  return { path: location.pathname, error: location.searchParams.get("error") };
}
