import type { MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { cookieName, OWN_COOKIE } from "../../../../shared/contracts/cookies.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { VAULT_CONNECT_LINK } from "../../../../shared/contracts/vault.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { adminCall, orgPath, type Problem } from "./admin-call.ts";
import { ConsoleLayout, ProblemNotice } from "./console-layout.tsx";
import { formFields } from "./form.ts";
import type { ConsoleContext, ConsoleEnv } from "./types.ts";

/** The admin API's view of a connect link (workers/token/src/admin/vault-connect-links.ts). */
interface LinkView {
  org: { id: string; name: string };
  provider: { id: string; name: string; resource: string; authorization_endpoint: string; scopes: string[] };
  owner: { kind: "user" | "org"; id: string };
  started_by: string;
  expires_at: string;
}

/** Long enough to sign in (with a second factor), as the OIDC resume cookie (oidc/resume-authorization.ts). */
const RESUME_SECONDS = 600;
/** Our link values are 43 characters; org ids are Better Auth's. Anything longer is not kept. */
const MAX_KEPT = 512;

/** A serialized http(s) origin of a DNS name or an IP literal: nothing CSP reads as a wildcard or a separator. */
const PLAIN_ORIGIN = /^https?:\/\/([a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;

function resumeCookie(issuer: string): string {
  return cookieName(issuer, OWN_COOKIE.vaultConfirmResume);
}

function confirmUrl(org: string, link: string): string {
  return `${VAULT_CONNECT_LINK.path(org)}?${new URLSearchParams({ [VAULT_CONNECT_LINK.param]: link })}`;
}

/**
 * GET on the confirmation page without a session: consoleSession sends the
 * browser to sign in (303 /sign-in); the link is kept in a short-lived
 * HttpOnly cookie so that after signing in (and the second factor) the
 * person comes back to it from /app (resumeVaultConfirm), as an OIDC
 * authorization request does.
 */
export const rememberVaultConfirm: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  // Read before next(): afterwards c.req.param answers for the last route that ran, which has no `:org`.
  const org = c.req.param("org") ?? "";
  const link = c.req.query(VAULT_CONNECT_LINK.param) ?? "";
  await next();
  if (c.req.method !== "GET" || c.res.status !== 303) return;
  if (new URL(c.res.headers.get("Location") ?? "", "http://x").pathname !== ENDPOINT.signIn) return;
  if (!org || !link || org.length + link.length > MAX_KEPT) return;
  const issuer = authnConfig(c.env).issuer;
  setCookie(c, resumeCookie(issuer), new URLSearchParams({ org, link }).toString(), {
    path: "/",
    httpOnly: true,
    secure: issuer.startsWith("https://"),
    sameSite: "Lax",
    maxAge: RESUME_SECONDS,
  });
};

/**
 * GET ENDPOINT.app, where every sign-in lands: a kept connect link is
 * resumed (once) at its confirmation page, which checks everything again.
 * The target is always our own confirmation path: never an open redirect.
 */
export const resumeVaultConfirm: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  const issuer = authnConfig(c.env).issuer;
  const name = resumeCookie(issuer);
  const kept = getCookie(c, name);
  if (!kept) return next();
  const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers });
  if (!session) return next();
  deleteCookie(c, name, { path: "/", secure: issuer.startsWith("https://") });
  const query = new URLSearchParams(kept);
  const org = query.get("org") ?? "";
  const link = query.get("link") ?? "";
  if (!org || !link || kept.length > MAX_KEPT) return next();
  return c.redirect(confirmUrl(org, link), 303);
};

/**
 * The page's CSP (security/page-headers.ts) with one widening, as the OIDC
 * consent page has: after the confirming post the browser follows a 303 to
 * the provider's authorization endpoint, and CSP `form-action` governs that
 * redirect too (CSP 3 §6.4.1), so the page allows its own origin and that
 * provider's only. Registered outside the console's own headers.
 */
export const vaultConfirmHeaders: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  await next();
  const extra = c.get("formActionOrigin");
  const csp = c.res.headers.get("Content-Security-Policy");
  if (extra && csp) {
    c.res.headers.set("Content-Security-Policy", csp.replace("form-action 'self'", `form-action 'self' ${extra}`));
  }
};

function LinkRefused(props: { c: ConsoleContext; problem: Problem }) {
  const { c, problem } = props;
  return (
    <ConsoleLayout title="Connect link" nonce={c.var.nonce} caller={c.var.caller}>
      <div data-testid="vault-confirm-refused">
        <ProblemNotice problem={problem} />
        <p>
          {problem.code === "invalid_connect_link"
            ? "This link cannot be used: it is unknown, was already used, or has expired. Ask for a new one (mono-auth vault provider connect)."
            : "This link cannot be confirmed from this account. Nothing was changed."}
        </p>
      </div>
      <p>
        <a href={ENDPOINT.console}>Back to the console</a>
      </p>
    </ConsoleLayout>
  );
}

/**
 * GET /console/orgs/{org}/vault/confirm?link=…: what confirming an operator's
 * connect link does (the org, the provider, its scopes, whose connection it
 * becomes), with the form that confirms it. Whether this person may is the
 * admin API's decision (an admin or owner of the org: else its 403 here,
 * under that status, the link untouched).
 */
export async function showVaultConfirm(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const link = c.req.query(VAULT_CONNECT_LINK.param) ?? "";
  const view = await adminCall<LinkView>(c, "POST", `${orgPath(org)}/vault/connect-links/inspect`, { link });
  if (!view.ok) return c.html(<LinkRefused c={c} problem={view.problem} />);
  const { provider, owner } = view.body;
  const authorizationOrigin = new URL(provider.authorization_endpoint).origin;
  // Only a plain origin goes into the policy: a row written before the admin API required a DNS host
  // could hold `https://*.com` (a CSP wildcard) or a `;`. Left out, the browser refuses the redirect.
  if (PLAIN_ORIGIN.test(authorizationOrigin)) c.set("formActionOrigin", authorizationOrigin);
  return c.html(
    <ConsoleLayout title={`Connect ${provider.name}`} nonce={c.var.nonce} caller={c.var.caller}>
      <section data-testid="vault-confirm">
        <p>
          An operator client (<code>{view.body.started_by.replace(/^operator:/, "")}</code>) asked to connect an account
          at <strong>{provider.name}</strong> (<code>{authorizationOrigin}</code>) to the organization{" "}
          <strong>{view.body.org.name}</strong>.
        </p>
        <ul>
          <li>
            Scopes: <span data-testid="vault-confirm-scopes">{provider.scopes.join(" ") || "(none)"}</span>
          </li>
          <li>
            Serves: <code>{provider.resource}</code>
          </li>
          <li>Link valid until {view.body.expires_at}, once.</li>
        </ul>
        <p class="notice" data-testid="vault-confirm-effect">
          {owner.kind === "org"
            ? `The provider account you approve will be saved for the whole organization ${view.body.org.name}: agents the organization binds to it will act with that account.`
            : "The provider account you approve will be saved as your own connection in this organization."}
        </p>
        <p>
          Continue only if you expected this. You will sign in at {provider.name} and approve there; the flow can then
          be finished only in this browser.
        </p>
        <form method="post" action={VAULT_CONNECT_LINK.path(org)}>
          <input type="hidden" name={VAULT_CONNECT_LINK.param} value={link} />
          <button type="submit">Confirm and continue to {provider.name}</button>
        </form>
        <p>
          <a href={`${ENDPOINT.console}/orgs/${encodeURIComponent(org)}/vault`}>Cancel</a>
        </p>
      </section>
    </ConsoleLayout>,
  );
}

/**
 * POST /console/orgs/{org}/vault/confirm `link=…` (same-origin, as every
 * console form): the admin API spends the link and starts the flow bound to
 * this person's session (as a flow started from the console); the browser
 * goes on to the provider. Of two confirmations racing, one goes on, the
 * other is refused `invalid_connect_link`.
 */
export async function confirmVaultLink(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const link = formFields(c).get(VAULT_CONNECT_LINK.param) ?? "";
  const confirmed = await adminCall<{ authorization_url: string }>(
    c,
    "POST",
    `${orgPath(org)}/vault/connect-links/confirm`,
    { link },
  );
  if (!confirmed.ok) return c.html(<LinkRefused c={c} problem={confirmed.problem} />);
  return c.redirect(confirmed.body.authorization_url, 303);
}
