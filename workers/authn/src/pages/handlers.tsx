import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { organization } from "../../../../shared/db/schema.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { auditFailedSignIn, auditRateLimited } from "../audit/credential-audit.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { type FormOutcome, signInWithForm, signOutWithForm, signUpWithForm } from "../forms/credentials.ts";
import { checkCredentialLimits, credentialAttempt, retryAfterHeader } from "../limits/credential-limits.ts";
import { afterSignIn, SIGN_IN_DELAYED, SIGN_IN_LOCKED, signInDelay } from "../limits/sign-in-guard.ts";
import { isSameOriginPost } from "../security/same-origin.ts";
import { pageSession } from "../two-factor/page-session.ts";
import { AppPage } from "./app-page.tsx";
import { CredentialsForm } from "./credentials-form.tsx";

export type AuthnApp = { Bindings: AuthnEnv; Variables: { nonce: string; body: Uint8Array<ArrayBuffer> } };

/** What the form says when a credential limit refuses the attempt (limits/credential-limits.ts). */
export const TOO_MANY_ATTEMPTS = "Too many attempts. Wait a minute, then try again.";
type PageContext = Context<AuthnApp>;

function crossOriginRefused(): Response {
  return httpErrorResponse("cross_origin_post", "form posts must come from this origin");
}

export async function home(c: PageContext) {
  const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers });
  return c.redirect(session ? ENDPOINT.app : ENDPOINT.signIn, 303);
}

export function showCredentialsForm(mode: "sign-in" | "sign-up") {
  return (c: PageContext) => c.html(<CredentialsForm mode={mode} nonce={c.var.nonce} />);
}

/**
 * POST /sign-in and /sign-up: a redirect to /app, or the form again with a
 * message. Each post is a password attempt under the same limits as Better
 * Auth's API (one budget for both), and a wrong password is audited.
 */
export function submitCredentialsForm(mode: "sign-in" | "sign-up") {
  return async (c: PageContext) => {
    if (!isSameOriginPost(c.req.raw, authnConfig(c.env).issuer)) return crossOriginRefused();
    const form = await c.req.raw.formData().catch(() => new FormData());
    const text = (name: string) => {
      const value = form.get(name);
      return typeof value === "string" ? value : "";
    };
    const again = (error: string, status: Extract<FormOutcome, { ok: false }>["status"]) =>
      c.html(
        <CredentialsForm mode={mode} nonce={c.var.nonce} error={error} email={text("email")} name={text("name")} />,
        status,
      );

    const path = mode === "sign-in" ? ENDPOINT.signIn : ENDPOINT.signUp;
    const email = text("email").trim() || undefined;
    const attempt = await credentialAttempt(authnConfig(c.env), c.req.raw.headers, email);
    // The progressive delay's read goes alongside the rate limiters, as at the API (api/better-auth-api.ts).
    const [verdict, delay] = await Promise.all([
      checkCredentialLimits(c.env, attempt),
      mode === "sign-in" ? signInDelay(c.env, attempt) : undefined,
    ]);
    if (verdict.limited) {
      c.executionCtx.waitUntil(auditRateLimited(c.env, { path, by: verdict.by, attempt: verdict.attempt }));
      for (const [name, value] of Object.entries(retryAfterHeader(verdict))) c.header(name, value);
      return again(TOO_MANY_ATTEMPTS, 429);
    }

    // The consecutive-failure cap, then the progressive delay (limits/sign-in-throttle.ts), as at the API.
    if (delay?.locked && email) {
      c.executionCtx.waitUntil(
        auditFailedSignIn(c.env, { path, error: "account_locked", email, attempt: verdict.attempt }),
      );
      return again(SIGN_IN_LOCKED, 403);
    }
    if (delay?.delayed) {
      c.executionCtx.waitUntil(auditRateLimited(c.env, { path, by: delay.by, attempt: verdict.attempt }));
      for (const [name, value] of Object.entries(retryAfterHeader(delay))) c.header(name, value);
      return again(SIGN_IN_DELAYED, 429);
    }

    const auth = getAuth(c.env);
    const outcome: FormOutcome =
      mode === "sign-in" ? await signInWithForm(auth, c.req.raw, form) : await signUpWithForm(auth, c.req.raw, form);
    if (delay) {
      const status = outcome.ok ? 200 : outcome.status;
      await afterSignIn(
        c.env,
        authnConfig(c.env),
        { attempt: verdict.attempt, verdict: delay, email, status },
        (work) => c.executionCtx.waitUntil(work),
      );
    }
    if (!outcome.ok) {
      if (mode === "sign-in" && outcome.status === 401 && email) {
        const error = outcome.code ?? "unauthorized";
        c.executionCtx.waitUntil(auditFailedSignIn(c.env, { path, error, email, attempt: verdict.attempt }));
      }
      return again(outcome.message, outcome.status);
    }
    for (const cookie of outcome.setCookies) c.header("Set-Cookie", cookie, { append: true });
    if (outcome.verifyEmail) return c.redirect(`${ENDPOINT.verifyEmail}?sent=1`, 303);
    return c.redirect(outcome.twoFactor ? ENDPOINT.twoFactor : ENDPOINT.app, 303);
  };
}

export async function signOut(c: PageContext) {
  if (!isSameOriginPost(c.req.raw, authnConfig(c.env).issuer)) return crossOriginRefused();
  const outcome = await signOutWithForm(getAuth(c.env), c.req.raw);
  if (!outcome.ok) {
    return httpErrorResponse("temporarily_unavailable", "the sign-out could not be completed safely; try again");
  }
  for (const cookie of outcome.setCookies) c.header("Set-Cookie", cookie, { append: true });
  return c.redirect(ENDPOINT.signIn, 303);
}

export async function appPage(c: PageContext) {
  // As /account: a session that has not passed its second factor is sent to it, not shown the person.
  const current = await pageSession(c.env, c.req.raw.headers);
  if ("redirect" in current) return c.redirect(current.redirect, 303);
  const { session } = current;
  const orgId = session.session.activeOrganizationId;
  const org = orgId
    ? await drizzle(c.env.DB)
        .select({ id: organization.id, name: organization.name })
        .from(organization)
        .where(eq(organization.id, orgId))
        .get()
    : undefined;
  return c.html(
    <AppPage
      nonce={c.var.nonce}
      user={{ name: session.user.name, email: session.user.email }}
      org={org ?? null}
      audience={authnConfig(c.env).apiAudience}
    />,
  );
}
