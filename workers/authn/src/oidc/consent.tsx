import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context, MiddlewareHandler } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../../shared/contracts/oidc.ts";
import { organization } from "../../../../shared/db/schema.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { browserClientForConsent } from "../../../../shared/oidc/browser-clients.ts";
import { getAuth } from "../auth/create-auth.ts";
import { CONSENT_ALREADY_ANSWERED } from "./consent-claim.ts";
import { CONSENT_NEEDS_ORG, CONSENT_ORG_CHANGED } from "./consent-org.ts";
import { bindConsentOrg, CONSENT_ORG_FIELD } from "./consent-org-binding.ts";
import { authnConfig } from "../config.ts";
import type { AuthnApp } from "../pages/handlers.tsx";
import { ConsentPage, ConsentProblem } from "../pages/consent.tsx";
import { pageSecurityHeaders } from "../security/page-headers.ts";
import { isSameOriginPost } from "../security/same-origin.ts";

/** The consent page's error code for a form posted again (RFC 6749 §10.5: what mints a code is single use). */
export const CONSENT_ANSWERED_CODE = "consent_already_answered";

/** The consent page's error code for a session with no active org of the person's (oidc/consent-org.ts). */
export const NO_ACTIVE_ORG_CODE = "no_active_organization";
const NO_ACTIVE_ORG_MESSAGE = "Choose an organization, then start again from the application.";

/** The consent page's error code for an allow after the active org changed from the one the page showed (oidc/consent-org.ts). */
export const ORG_CHANGED_CODE = "consent_organization_changed";
const ORG_CHANGED_MESSAGE =
  "You switched to another organization after this page was shown, so nothing was allowed. Start again from the application to answer for the organization you are in now.";

/** A page's variables, and the one origin its form's redirect may go to (consentPageHeaders widens form-action by it). */
export type ConsentApp = {
  Bindings: AuthnApp["Bindings"];
  Variables: AuthnApp["Variables"] & { formActionOrigin?: string };
};
type ConsentContext = Context<ConsentApp>;

/**
 * The page headers (security/page-headers.ts), with one widening: after the
 * consent post, the browser follows a 303 to the client's registered
 * redirect URI, and CSP `form-action` governs that redirect too (CSP 3
 * §6.4.1), so the page allows its own origin and that client's origin only.
 */
export const consentPageHeaders: MiddlewareHandler<ConsentApp> = async (c, next) => {
  await (pageSecurityHeaders as unknown as MiddlewareHandler<ConsentApp>)(c, next);
  const extra = c.get("formActionOrigin");
  const csp = c.res.headers.get("Content-Security-Policy");
  if (extra && csp) {
    c.res.headers.set("Content-Security-Policy", csp.replace("form-action 'self'", `form-action 'self' ${extra}`));
  }
};

/**
 * GET ENDPOINT.consent: where Better Auth's authorize endpoint sends a
 * signed-in person whose consent it needs, with the signed request in the
 * query. Shows the client, the org (the session's active org, which the
 * tokens will carry as `org_id`), the scopes and the RFC 8707 resources.
 * The form carries the org it showed, bound to the signed request
 * (oidc/consent-org-binding.ts): an allow is for that org or for none.
 */
export async function showConsent(c: ConsentContext) {
  const url = new URL(c.req.url);
  const auth = getAuth(c.env);
  const session = await auth.api.getSession({ headers: c.req.raw.headers });
  // Not signed in (the session ended meanwhile): sign in, then authorize again.
  if (!session) return c.redirect(ENDPOINT.signIn, 303);
  const problem = (message: string) => c.html(<ConsentProblem nonce={c.var.nonce} message={message} />, 400);

  const clientId = url.searchParams.get("client_id") ?? "";
  const client = clientId ? await browserClientForConsent(c.env.DB, clientId) : undefined;
  if (!client) return problem("This application is not registered.");
  const redirectUri = url.searchParams.get("redirect_uri") ?? "";
  // RFC 6749 §3.1.2.3: only a registered URI, compared exactly (Better Auth
  // checked it before sending the person here; the link could be forged).
  if (!client.redirectUris.includes(redirectUri))
    return problem("This request does not name a registered return address.");
  const orgId = (session.session as { activeOrganizationId?: string | null }).activeOrganizationId;
  const org = orgId
    ? await drizzle(c.env.DB)
        .select({ name: organization.name })
        .from(organization)
        .where(eq(organization.id, orgId))
        .get()
    : undefined;
  if (!org) {
    return c.html(
      <ConsentProblem nonce={c.var.nonce} code={NO_ACTIVE_ORG_CODE} message={NO_ACTIVE_ORG_MESSAGE} />,
      400,
    );
  }

  const scopes = (url.searchParams.get("scope") ?? "").split(" ").filter(Boolean);
  const signature = url.searchParams.get("sig") ?? "";
  const consentOrg = await bindConsentOrg(authnConfig(c.env).betterAuthSecret, signature, orgId ?? "");
  const redirect = new URL(redirectUri);
  c.set("formActionOrigin", redirect.origin);
  return c.html(
    <ConsentPage
      nonce={c.var.nonce}
      clientName={client.name}
      clientId={clientId}
      scopes={scopes}
      resources={[...new Set(url.searchParams.getAll("resource"))]}
      orgName={org.name}
      oauthQuery={url.search.slice(1)}
      consentOrg={consentOrg}
      redirectHost={redirect.host}
    />,
  );
}

/**
 * POST ENDPOINT.consent: the person's answer. Same-origin only (CSRF); the
 * signed request is checked by Better Auth (`/oauth2/consent`), which then
 * answers with the client's redirect URI: a code and `iss` (RFC 9207) when
 * allowed, `error=access_denied` when denied (RFC 6749 §4.1.2.1). Each form
 * is answered once (oidc/consent-claim.ts): posted again, it gets a page
 * with the code CONSENT_ANSWERED_CODE and nothing more. An allow is for the
 * org the page showed (oidc/consent-org.ts): after a switch to another org
 * it gets a page with the code ORG_CHANGED_CODE and nothing more.
 */
export async function submitConsent(c: ConsentContext) {
  const config = authnConfig(c.env);
  if (!isSameOriginPost(c.req.raw, config.issuer)) {
    return httpErrorResponse("cross_origin_post", "form posts must come from this origin");
  }
  const form = await c.req.raw.formData().catch(() => new FormData());
  const oauthQuery = form.get("oauth_query");
  const accept = form.get("accept");
  const consentOrg = form.get(CONSENT_ORG_FIELD);
  if (typeof oauthQuery !== "string" || oauthQuery === "" || (accept !== "true" && accept !== "false")) {
    return c.html(<ConsentProblem nonce={c.var.nonce} message="The consent form was incomplete." />, 400);
  }
  const headers = new Headers({
    "Content-Type": "application/json",
    Accept: "application/json",
    Origin: config.origin,
  });
  const cookie = c.req.raw.headers.get("Cookie");
  if (cookie) headers.set("Cookie", cookie);
  const ip = c.req.raw.headers.get("cf-connecting-ip");
  if (ip) headers.set("cf-connecting-ip", ip);
  const answer = await getAuth(c.env).handler(
    new Request(`${config.issuer}${OIDC_ENDPOINT.consent}`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        accept: accept === "true",
        oauth_query: oauthQuery,
        // Absent from a form that is not the page's: Better Auth's endpoint then refuses the allow.
        ...(typeof consentOrg === "string" ? { [CONSENT_ORG_FIELD]: consentOrg } : {}),
      }),
    }),
  );
  const body = (await answer.json().catch(() => ({}))) as {
    url?: unknown;
    redirect_uri?: unknown;
    error_description?: unknown;
  };
  const target =
    typeof body.url === "string" ? body.url : typeof body.redirect_uri === "string" ? body.redirect_uri : "";
  if (!answer.ok || target === "") {
    if (answer.status === 401) return c.redirect(ENDPOINT.signIn, 303);
    // The form was posted before (oidc/consent-claim.ts): that first answer is the one.
    if (body.error_description === CONSENT_ALREADY_ANSWERED) {
      return c.html(
        <ConsentProblem
          nonce={c.var.nonce}
          code={CONSENT_ANSWERED_CODE}
          message="This request was already answered. Go back to the application and start again if you need to."
        />,
        400,
      );
    }
    // No active org of the person's when allowed (oidc/consent-org.ts): no consent, no code.
    if (body.error_description === CONSENT_NEEDS_ORG) {
      return c.html(
        <ConsentProblem nonce={c.var.nonce} code={NO_ACTIVE_ORG_CODE} message={NO_ACTIVE_ORG_MESSAGE} />,
        400,
      );
    }
    // Allowed after a switch to another org than the page showed (oidc/consent-org.ts): no consent, no code.
    if (body.error_description === CONSENT_ORG_CHANGED) {
      return c.html(<ConsentProblem nonce={c.var.nonce} code={ORG_CHANGED_CODE} message={ORG_CHANGED_MESSAGE} />, 400);
    }
    return c.html(<ConsentProblem nonce={c.var.nonce} message="This request has expired or was changed." />, 400);
  }
  c.set("formActionOrigin", new URL(target).origin);
  return c.redirect(target, 303);
}
