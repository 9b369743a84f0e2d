import type { MiddlewareHandler } from "hono";
import { BETTER_AUTH_PLUGIN_COOKIE, cookieName } from "../../../../shared/contracts/cookies.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { authnConfig } from "../config.ts";
import { FlowPage } from "../pages/flow-kit.tsx";
import type { ConsentApp } from "./consent.tsx";

/** What Better Auth's RP-initiated logout page said, read from the markers it puts in its HTML. */
type LogoutPage =
  | { kind: "confirm"; action: string }
  | { kind: "logged-out"; note: string }
  | { kind: "error"; description: string };

/**
 * Where the confirmation's POST will be redirected: the post-logout redirect
 * URI Better Auth put in the confirmation state it just signed, which it
 * does only for a URI registered for the client, compared exactly (and
 * checks again at the POST). Read from the cookie it sets on this answer
 * (`value.signature`, URI-encoded: better-call's signCookieValue), not from
 * the request, so a URI it refused never widens the page's form-action.
 */
function confirmationReturnOrigin(answered: Response, stateCookie: string): string | undefined {
  for (const line of answered.headers.getSetCookie()) {
    const eq = line.indexOf("=");
    if (eq < 0 || line.slice(0, eq) !== stateCookie) continue;
    try {
      const signed = decodeURIComponent(line.slice(eq + 1).split(";")[0] ?? "");
      const state: unknown = JSON.parse(signed.slice(0, signed.lastIndexOf(".")));
      const uri = (state as { postLogoutRedirectUri?: unknown } | null)?.postLogoutRedirectUri;
      return typeof uri === "string" ? new URL(uri).origin : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Better Auth's success text before its optional note ("Logged out. The requested …"). */
const LOGGED_OUT = /^Logged out\.\s*/;

/**
 * Reads Better Auth's page through its `data-oidc-logout-*` markers (its
 * confirmation form, its logged-out and error paragraphs). Undefined for any
 * other HTML, which then passes unchanged.
 */
async function readLogoutPage(response: Response): Promise<LogoutPage | undefined> {
  let action: string | undefined;
  let state: string | undefined;
  let text = "";
  await new HTMLRewriter()
    .on("form[data-oidc-logout-confirmation]", {
      element(form) {
        action = form.getAttribute("action") ?? undefined;
      },
    })
    .on("[data-oidc-logout-state]", {
      element(paragraph) {
        state = paragraph.getAttribute("data-oidc-logout-state") ?? undefined;
      },
      text(chunk) {
        text += chunk.text;
      },
    })
    .transform(response)
    .arrayBuffer();
  // Its text is HTML-escaped; the page below escapes again, so entities are decoded first.
  const plain = text
    .replaceAll("&amp;", "&")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'");
  if (action !== undefined) return { kind: "confirm", action };
  if (state === "logged-out") return { kind: "logged-out", note: plain.replace(LOGGED_OUT, "").trim() };
  if (state === "error") return { kind: "error", description: plain.trim() };
  return undefined;
}

/**
 * RP-initiated logout (OIDC RP-Initiated Logout 1.0) answers a browser with
 * Better Auth's own bare pages: its confirmation form, "Logged out.", its
 * errors. Shown here in the pages' look and under their security headers
 * (mounted after pageSecurityHeaders), with Better Auth's status and every
 * cookie it set kept: its confirmation state and the ended session's cookie
 * are what the flow runs on. Its JSON answers and redirects pass unchanged.
 * Its texts are fixed strings of its own, never a request's words.
 */
export const logoutPagesInOurLook: MiddlewareHandler<ConsentApp> = async (c, next) => {
  await next();
  const answered = c.res;
  if (!answered.headers.get("Content-Type")?.startsWith("text/html")) return;
  const page = await readLogoutPage(answered.clone());
  if (!page) return;
  // The confirmation's POST is answered with a redirect to the client's registered URI, which
  // the page's CSP form-action governs too (CSP 3 §6.4.1): that origin is allowed, as on consent.
  const stateCookie = cookieName(authnConfig(c.env).issuer, BETTER_AUTH_PLUGIN_COOKIE.logoutConfirmation);
  const back = page.kind === "confirm" ? confirmationReturnOrigin(answered, stateCookie) : undefined;
  if (back) c.set("formActionOrigin", back);
  const ours = await c.html(<LogoutPageView page={page} nonce={c.var.nonce} />);
  // Only the page's body and type from `ours`: Hono starts its headers from c.res, Better Auth's
  // answer, so they hold its cookies already, and appending them again set each one twice.
  const headers = new Headers({ "Content-Type": ours.headers.get("Content-Type") ?? "text/html; charset=UTF-8" });
  for (const cookie of answered.headers.getSetCookie()) headers.append("Set-Cookie", cookie);
  // Hono's `c.res =` merges the old response's headers (Better Auth's bare CSP) into the new one: drop it first.
  c.res = undefined;
  c.res = new Response(ours.body, { status: answered.status, headers });
};

function LogoutPageView(props: { page: LogoutPage; nonce: string }) {
  const { page, nonce } = props;
  if (page.kind === "confirm") {
    return (
      <FlowPage title="Sign out?" nonce={nonce}>
        <p>An application asked to sign you out on this browser.</p>
        <form method="post" action={page.action}>
          <button type="submit" name="action" value="confirm" data-testid="confirm-sign-out">
            Sign out
          </button>
        </form>
        <p>
          <a href={ENDPOINT.app}>Stay signed in</a>
        </p>
      </FlowPage>
    );
  }
  if (page.kind === "logged-out") {
    return (
      <FlowPage title="Signed out" nonce={nonce} notice={page.note || undefined}>
        <p data-testid="signed-out">
          You are signed out on this browser. <a href={ENDPOINT.signIn}>Sign in again</a>
        </p>
      </FlowPage>
    );
  }
  return (
    <FlowPage title="Sign-out could not continue" nonce={nonce} error={page.description}>
      <p>
        Go back to the application you came from, or <a href={ENDPOINT.app}>continue here</a>.
      </p>
    </FlowPage>
  );
}
