/**
 * A navigation that needs a signed-in person, made by a browser without one,
 * goes on after the sign-in instead of stopping at /app: an OIDC
 * authorization request (oidc/resume-authorization.ts) or an operator's
 * vault connect link (console/vault-confirm.tsx). One implementation, one
 * cookie per kind (shared/contracts/cookies.ts OWN_COOKIE), only one kept at
 * a time: keeping one drops the other, so a flow started later replaces an
 * earlier one rather than both waiting for whoever signs in.
 *
 * The cookie holds `<exp>.<mac>.<target>`: the target is a path and query of
 * our own, of the one path its kind resumes to, and the MAC (expiring-mac.ts,
 * its own purpose) binds it to the kind and to `exp`. So a value resumes only
 * to a target this code accepts, never to a forged or altered one, never
 * another kind's, and never after `exp` (enforced here, not only by the
 * browser's Max-Age). The MAC is not tied to a browser: anyone can get a
 * signed value for any accepted target by opening it while signed out, and
 * a sibling host on a plain-http run (no `__Host-` prefix) can plant it in a
 * victim's browser. That gains nothing over navigating the victim to the
 * target directly: it is one of our own pages, which checks everything again
 * and still asks for consent or the Confirm click.
 */
import type { Context, Env, MiddlewareHandler } from "hono";
import { deleteCookie, generateCookie, getCookie } from "hono/cookie";
import { cookieName, OWN_COOKIE, SESSION_COOKIE } from "../../../../shared/contracts/cookies.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../../shared/contracts/oidc.ts";
import { VAULT_CONNECT_LINK } from "../../../../shared/contracts/vault.ts";
import { authnConfig } from "../config.ts";
import { signExpiring, verifyExpiring } from "../security/expiring-mac.ts";
import { pageSession } from "../two-factor/page-session.ts";

/** Long enough to sign up or sign in (with a second factor), short enough not to surprise later. */
export const RESUME_SECONDS = 600;

/**
 * The most a kept cookie's Set-Cookie value may take (its name, its value as
 * percent-encoded on the wire, and its attributes): browsers keep at least
 * 4096 bytes of a cookie (RFC 6265 §6.1) and silently drop a longer one, so
 * a target whose cookie would not fit is not kept. Measured on what is sent,
 * not on the target: `%`, `&` and `=` each take three bytes encoded.
 */
export const MAX_SET_COOKIE_BYTES = 4000;

/** The MAC's own key (security/expiring-mac.ts), apart from every other use of BETTER_AUTH_SECRET. */
const PURPOSE = "mono-auth resume after sign-in v1";

/** Any http(s) origin stands in: a target is accepted only when it stays on it (our own origin, whatever it is). */
const BASE = "https://resume.invalid";

/** `/console/orgs/<org>/vault/confirm`: the org segment is checked by building the path again from it. */
const VAULT_CONFIRM_PATH = new RegExp(
  `^${VAULT_CONNECT_LINK.path("ORG")
    .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    .replace("ORG", "([^/]+)")}$`,
);

interface ResumeKind {
  /** The cookie's name after the prefix. */
  cookie: string;
  /**
   * The longest target accepted, kept or read (a longer one is not: the navigation just does not
   * resume). Whatever this allows, a cookie over MAX_SET_COOKIE_BYTES is not kept either.
   */
  maxTarget: number;
  /** Whether a same-origin target is one this kind resumes to. */
  accepts(target: URL): boolean;
  /** The target as resumed, given whether the session signed in after it was kept. */
  resumeAs?(target: URL, signedInSince: boolean): string;
}

function vaultConfirmTarget(target: URL): boolean {
  const match = VAULT_CONFIRM_PATH.exec(target.pathname);
  if (!match?.[1] || !target.searchParams.get(VAULT_CONNECT_LINK.param)) return false;
  try {
    return VAULT_CONNECT_LINK.path(decodeURIComponent(match[1])) === target.pathname;
  } catch {
    // Not percent-encoded UTF-8: no org of ours.
    return false;
  }
}

/**
 * An authorization request that asked for a sign-in (`prompt=login` or
 * `create`, OIDC Core §3.1.2.1, or a `max_age` the session was too old for,
 * §3.1.2.1 / §3.1.2.3) sends the browser to sign in however signed in it
 * is; followed back unchanged, it sends it there again, for ever. A session
 * that signed in after the request was kept has done what the request asked,
 * so those are dropped from the target, as Better Auth's own continuation
 * does for a sign-in fresher than its signed query (removePromptFromQuery,
 * removeMaxAgeFromQuery). A session from before keeps them: the request
 * sends it to sign in again, and the fresh one resumes.
 */
function authorizeAfterSignIn(target: URL, signedInSince: boolean): string {
  if (!signedInSince) return `${target.pathname}${target.search}`;
  const query = new URLSearchParams(target.search);
  const prompt = query.get("prompt");
  if (prompt !== null) {
    const kept = prompt.split(" ").filter((value) => value !== "login" && value !== "create");
    if (kept.length > 0) query.set("prompt", kept.join(" "));
    else query.delete("prompt");
  }
  query.delete("max_age");
  return `${target.pathname}?${query}`;
}

/** What can be resumed. The targets' own pages check everything again when the browser comes back. */
export const RESUME_KIND = {
  /** The authorize endpoint, which checks the client, redirect URI and PKCE again and asks for consent. */
  authorize: {
    cookie: OWN_COOKIE.oidcResume,
    // The query as before: bounded by what fits in the cookie (MAX_SET_COOKIE_BYTES); Better Auth's own is far smaller.
    maxTarget: MAX_SET_COOKIE_BYTES,
    accepts: (target) => target.pathname === OIDC_ENDPOINT.authorize && Boolean(target.searchParams.get("client_id")),
    resumeAs: authorizeAfterSignIn,
  },
  /** A connect link's confirmation page, which inspects the link again and asks for the Confirm click. */
  vaultConfirm: {
    cookie: OWN_COOKIE.vaultConfirmResume,
    // Our link values are 43 characters and org ids Better Auth's: room for both, with the path.
    maxTarget: 640,
    accepts: vaultConfirmTarget,
  },
} as const satisfies Record<string, ResumeKind>;

export type ResumeKindName = keyof typeof RESUME_KIND;
const KIND_NAMES = Object.keys(RESUME_KIND) as ResumeKindName[];

/** The target as a path and query of our origin that `kind` resumes to, or undefined. */
function acceptedTarget(kind: ResumeKindName, target: string): string | undefined {
  const spec = RESUME_KIND[kind];
  if (target.length === 0 || target.length > spec.maxTarget) return undefined;
  // Only a path of our own: never `//host`, `/\host` or a scheme, whatever a parser makes of them.
  if (!target.startsWith("/") || target.startsWith("//") || target.startsWith("/\\")) return undefined;
  let url: URL;
  try {
    url = new URL(target, BASE);
  } catch {
    return undefined;
  }
  if (url.origin !== BASE || `${url.pathname}${url.search}` !== target || url.hash) return undefined;
  return spec.accepts(url) ? target : undefined;
}

type AnyContext = Context<{ Bindings: AuthnEnv }>;

function secure(c: AnyContext): boolean {
  return authnConfig(c.env).issuer.startsWith("https://");
}

function fullName(c: AnyContext, kind: ResumeKindName): string {
  return cookieName(authnConfig(c.env).issuer, RESUME_KIND[kind].cookie);
}

/** Drops every kept target but `except`'s (sign-out, a resume taken, another kind kept). */
export function forgetResume(c: AnyContext, except?: ResumeKindName): void {
  for (const kind of KIND_NAMES) {
    if (kind === except || getCookie(c, fullName(c, kind)) === undefined) continue;
    deleteCookie(c, fullName(c, kind), { path: "/", secure: secure(c) });
  }
}

/** Keeps `target` for after the sign-in, replacing whatever was kept. A target its kind does not accept is not kept. */
export async function keepForSignIn(c: AnyContext, kind: ResumeKindName, target: string): Promise<void> {
  if (acceptedTarget(kind, target) === undefined) return;
  const subject = `${kind}:${target}`;
  const { exp, mac } = await signExpiring(authnConfig(c.env).betterAuthSecret, PURPOSE, subject, RESUME_SECONDS);
  const setCookie = generateCookie(fullName(c, kind), `${exp}.${mac}.${target}`, {
    path: "/",
    httpOnly: true,
    secure: secure(c),
    sameSite: "Lax",
    maxAge: RESUME_SECONDS,
  });
  // Too big for a browser to keep: not kept, as any target its kind does not accept.
  if (new TextEncoder().encode(setCookie).length > MAX_SET_COOKIE_BYTES) return;
  forgetResume(c, kind);
  c.header("Set-Cookie", setCookie, { append: true });
}

/** The target a kept value holds, if it is signed for this kind, unexpired and still acceptable; and when it was kept. */
async function keptTarget(
  c: AnyContext,
  kind: ResumeKindName,
  value: string,
): Promise<{ target: string; signedInAfterMs: number } | undefined> {
  const [exp = "", mac = ""] = value.split(".", 2);
  const target = value.slice(exp.length + mac.length + 2);
  if (acceptedTarget(kind, target) === undefined) return undefined;
  const secret = authnConfig(c.env).betterAuthSecret;
  if (!(await verifyExpiring(secret, PURPOSE, `${kind}:${target}`, exp, mac))) return undefined;
  // keepForSignIn signed exp = its second + RESUME_SECONDS. The kept moment was within that second: its
  // end is the earliest sign-in known to come after it (one in the same second counts as before).
  return { target, signedInAfterMs: (Number(exp) - RESUME_SECONDS + 1) * 1000 };
}

function sentToSignIn(response: Response): boolean {
  if (response.status !== 302 && response.status !== 303) return false;
  const location = response.headers.get("Location");
  return location !== null && new URL(location, BASE).pathname === ENDPOINT.signIn;
}

/**
 * A GET that the route answers by sending the browser to sign in keeps its
 * target (`targetOf`, read before the route runs: afterwards a param answers
 * for the last route that ran), as does one that `alsoWhen` names (a session
 * still short of its second factor, sent to step up).
 */
export function keepWhenSentToSignIn<E extends Env & { Bindings: AuthnEnv }>(
  kind: ResumeKindName,
  targetOf: (c: Context<E>) => string | undefined,
  alsoWhen?: (c: Context<E>) => boolean,
): MiddlewareHandler<E> {
  return async (c, next) => {
    const target = c.req.method === "GET" ? targetOf(c) : undefined;
    await next();
    if (target === undefined || !(sentToSignIn(c.res) || alsoWhen?.(c))) return;
    await keepForSignIn(c as unknown as AnyContext, kind, target);
  };
}

/**
 * GET ENDPOINT.app, where every sign-in, sign-up and second factor lands: a
 * kept target is resumed, once, by a session that may act (its person's
 * second factor passed, two-factor/page-session.ts). A session still short of
 * it leaves the target kept and goes on to /app, which sends it to
 * /two-factor; from there it lands here again. The target is always one of
 * our own paths: never an open redirect.
 */
export const resumeAfterSignIn: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  const kept = KIND_NAMES.flatMap((kind) => {
    const value = getCookie(c, fullName(c, kind));
    return value === undefined ? [] : [{ kind, value }];
  });
  if (kept.length === 0) return next();
  const current = await pageSession(c.env, c.req.raw.headers);
  if ("redirect" in current) return next();
  forgetResume(c);
  const signedInAtMs = new Date(current.session.session.createdAt).getTime();
  for (const { kind, value } of kept) {
    const found = await keptTarget(c, kind, value);
    if (found === undefined) continue;
    const { resumeAs }: ResumeKind = RESUME_KIND[kind];
    const target = resumeAs
      ? resumeAs(new URL(found.target, BASE), signedInAtMs >= found.signedInAfterMs)
      : found.target;
    return c.redirect(target, 303);
  }
  return next();
};

/** After a sign-out (the page's or Better Auth's API), nothing kept waits for whoever signs in next. */
export const forgetResumeOnSignOut: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  await next();
  if (c.res.status < 400) forgetResume(c);
};

/**
 * Better Auth's other ways of ending this browser's session (RP-initiated
 * logout and its confirmation, delete-user and its callback): nothing kept
 * waits for whoever signs in next once the answer deletes the session cookie.
 * Not before: end-session without an `id_token_hint` first asks the person to
 * confirm, and a delete-user that mails a link ends nothing yet.
 */
export const forgetResumeWhenSessionEnds: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  await next();
  const session = `${cookieName(authnConfig(c.env).issuer, SESSION_COOKIE)}=`;
  const ended = c.res.headers
    .getSetCookie()
    .some((line) => line.startsWith(session) && /;\s*Max-Age=0(;|$)/i.test(line));
  if (ended) forgetResume(c);
};
