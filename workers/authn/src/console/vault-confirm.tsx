import type { MiddlewareHandler } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { VAULT_CONNECT_LINK } from "../../../../shared/contracts/vault.ts";
import { httpErrorStatus } from "../../../../shared/errors/http.ts";
import { PROBLEM_TITLES } from "../../../../shared/errors/problem.ts";
import { keepWhenSentToSignIn } from "../resume/after-sign-in.ts";
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

/** A serialized http(s) origin of a DNS name or an IP literal: nothing CSP reads as a wildcard or a separator. */
const PLAIN_ORIGIN = /^https?:\/\/([a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;

/** The page's own refusal of a provider whose authorization origin it cannot allow (as the token Worker's). */
const UNSUPPORTED_ENDPOINT: Problem = {
  status: httpErrorStatus("provider_endpoint_unsupported"),
  code: "provider_endpoint_unsupported",
  title: PROBLEM_TITLES.provider_endpoint_unsupported ?? "Provider endpoint not supported",
  detail: "this provider's authorization endpoint is not a plain origin this page can allow its form to go on to",
};

/** The form field that tells the confirm which provider origin this page let its form go on to. */
const SHOWN_ORIGIN_FIELD = "authorization_origin";

function confirmUrl(org: string, link: string): string {
  return `${VAULT_CONNECT_LINK.path(org)}?${new URLSearchParams({ [VAULT_CONNECT_LINK.param]: link })}`;
}

/**
 * GET on the confirmation page by a browser that must sign in first
 * (consoleSession's 303 /sign-in) or pass its person's second factor
 * (consoleSession's step-up page): the link is kept (resume/after-sign-in.ts)
 * so that afterwards the person comes back to it from /app, as an OIDC
 * authorization request does.
 */
export const rememberVaultConfirm = keepWhenSentToSignIn<ConsoleEnv>(
  "vaultConfirm",
  (c) => {
    const org = c.req.param("org") ?? "";
    const link = c.req.query(VAULT_CONNECT_LINK.param) ?? "";
    return org && link ? confirmUrl(org, link) : undefined;
  },
  (c) => c.var.secondFactorPending === true,
);

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

function refusalAdvice(problem: Problem): string {
  if (problem.code === "invalid_connect_link")
    return "This link cannot be used: it is unknown, was already used, or has expired. Ask for a new one (mono-auth vault provider connect).";
  if (problem.code === "provider_endpoint_unsupported")
    return "This provider's sign-in address cannot be allowed by this page, so your browser would refuse to go there. Nothing was changed and the link is still good: an operator must correct the provider's authorization endpoint (a plain https host), then open the link again.";
  if (problem.code === "conflict")
    return "The provider changed since this page was shown. Nothing was changed and the link is still good: reload the page, check it again, and confirm.";
  return "This link cannot be confirmed from this account. Nothing was changed.";
}

function LinkRefused(props: { c: ConsoleContext; problem: Problem; reload?: string }) {
  const { c, problem, reload } = props;
  return (
    <ConsoleLayout title="Connect link" nonce={c.var.nonce} caller={c.var.caller}>
      <div data-testid="vault-confirm-refused">
        <ProblemNotice problem={problem} />
        <p>{refusalAdvice(problem)}</p>
        {reload ? (
          <p>
            <a href={reload} data-testid="vault-confirm-reload">
              Reload the confirmation page
            </a>
          </p>
        ) : null}
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
  // could hold `https://*.com` (a CSP wildcard) or a `;`. Left out, the browser would refuse the
  // redirect after the link is spent, so no Confirm button is shown for it (the token Worker refuses an
  // empty origin the same way, for a page rendered before this check).
  if (!PLAIN_ORIGIN.test(authorizationOrigin)) {
    c.set("refusal", UNSUPPORTED_ENDPOINT.status);
    return c.html(<LinkRefused c={c} problem={UNSUPPORTED_ENDPOINT} />);
  }
  const allowedOrigin = authorizationOrigin;
  c.set("formActionOrigin", allowedOrigin);
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
          <input type="hidden" name={SHOWN_ORIGIN_FIELD} value={allowedOrigin} />
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
 * POST /console/orgs/{org}/vault/confirm `link=…&authorization_origin=…`
 * (same-origin, as every console form): the admin API spends the link and
 * starts the flow bound to this person's session (as a flow started from the
 * console); the browser goes on to the provider. The origin the page allowed
 * in its CSP goes along: a provider that moved since is refused 409
 * `conflict` before the link is spent, and the page asks for a reload; an
 * empty one (a page shown before it refused such a provider) is 422
 * `provider_endpoint_unsupported`, no reload offered. Of two
 * confirmations racing, one goes on, the other is refused `invalid_connect_link`.
 */
export async function confirmVaultLink(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const form = formFields(c);
  const link = form.get(VAULT_CONNECT_LINK.param) ?? "";
  const shown = form.get(SHOWN_ORIGIN_FIELD);
  const confirmed = await adminCall<{ authorization_url: string }>(
    c,
    "POST",
    `${orgPath(org)}/vault/connect-links/confirm`,
    shown === null ? { link } : { link, authorization_origin: shown },
  );
  if (!confirmed.ok) {
    const reload = confirmed.problem.code === "conflict" ? confirmUrl(org, link) : undefined;
    return c.html(<LinkRefused c={c} problem={confirmed.problem} reload={reload} />);
  }
  return c.redirect(confirmed.body.authorization_url, 303);
}
