import type { MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { cookieName, OWN_COOKIE } from "../../../../shared/contracts/cookies.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../../shared/contracts/oidc.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";

/** Long enough to sign up or sign in (with a second factor), short enough not to surprise later. */
const RESUME_SECONDS = 600;
/** The most of an authorization request worth keeping (Better Auth's own query is far smaller). */
const MAX_QUERY_LENGTH = 3000;

function resumeCookieName(issuer: string): string {
  return cookieName(issuer, OWN_COOKIE.oidcResume);
}

/**
 * GET OIDC_ENDPOINT.authorize: when Better Auth sends a person who is not
 * signed in to the sign-in page, the authorization request is kept in a
 * short-lived HttpOnly cookie, so that after signing in (or up, with a
 * second factor or not) they come back to it instead of stopping at /app.
 */
export const rememberAuthorization: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  await next();
  const location = c.res.headers.get("Location");
  const query = new URL(c.req.url).search.slice(1);
  if (c.res.status !== 302 || !location || query.length === 0 || query.length > MAX_QUERY_LENGTH) return;
  if (new URL(location, "http://x").pathname !== ENDPOINT.signIn) return;
  const issuer = authnConfig(c.env).issuer;
  setCookie(c, resumeCookieName(issuer), query, {
    path: "/",
    httpOnly: true,
    secure: issuer.startsWith("https://"),
    sameSite: "Lax",
    maxAge: RESUME_SECONDS,
  });
};

/**
 * GET ENDPOINT.app, where every sign-in and sign-up lands: a kept
 * authorization request is resumed (once) at the authorize endpoint, which
 * checks it all again (client, exact redirect URI, PKCE) and asks for
 * consent. The target is always our own authorize path: never an open redirect.
 */
export const resumeAuthorization: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  const issuer = authnConfig(c.env).issuer;
  const name = resumeCookieName(issuer);
  const kept = getCookie(c, name);
  if (!kept) return next();
  const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers });
  if (!session) return next();
  deleteCookie(c, name, { path: "/", secure: issuer.startsWith("https://") });
  const query = new URLSearchParams(kept);
  if (!query.get("client_id") || kept.length > MAX_QUERY_LENGTH) return next();
  return c.redirect(`${OIDC_ENDPOINT.authorize}?${query}`, 303);
};
