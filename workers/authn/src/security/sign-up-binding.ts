/**
 * A verification link confirms a sign-up only for whoever chose its password
 * (account pre-hijacking, Sudhodanan & Paverd 2022, "classic-federated
 * merge" and "unexpired session"): anyone can sign up with someone else's
 * address and their own password and have the link sent there; a click by
 * the address's owner, who expects such mail, then verified the account
 * under the creator's password, and the creator signed in and added a
 * passkey or TOTP before the owner noticed.
 *
 * So Better Auth's verification (`beforeEmailVerification`, on both the
 * page's POST and a direct `GET /api/auth/verify-email`) needs one of:
 * - the browser that signed up: sign-up leaves it a short-lived HttpOnly
 *   SameSite=Lax cookie holding an HMAC of the new account's id;
 * - the account's password, proven on the verification page, which then
 *   hands Better Auth the same binding for this one call
 *   (pages/verify-email-password.ts).
 * An account with no password (SSO or social, never this link's business)
 * has nobody's password to hand over and verifies as before.
 *
 * A sign-up with an address that already has an account gets a cookie of
 * the same shape, an HMAC of Better Auth's synthetic user id, which names no
 * account: the answer stays the same for new and existing addresses.
 */
import type { BetterAuthOptions, BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { COOKIE_PREFIX, cookieName, OWN_COOKIE } from "../../../../shared/contracts/cookies.ts";
import { account } from "../../../../shared/db/schema.ts";
import { signExpiring, verifyExpiring } from "./expiring-mac.ts";

/** How long the signing-up browser confirms with a click alone; after it, the page asks for the password. */
export const SIGN_UP_BINDING_TTL_SECONDS = 60 * 60;

/** Better Auth's error for a verification without the binding or the password. */
export const EMAIL_VERIFICATION_PASSWORD_REQUIRED = "EMAIL_VERIFICATION_PASSWORD_REQUIRED";

const SIGN_UP = "/sign-up/email";
/** Better Auth's own provider id for the email-and-password account. */
const CREDENTIAL_PROVIDER = "credential";
/** The binding MAC's own key (security/expiring-mac.ts), apart from every other use of BETTER_AUTH_SECRET. */
const PURPOSE = "mono-auth sign-up binding v1";

type BindingConfig = { issuer: string; betterAuthSecret: string };

export function signUpBindingCookieName(config: { issuer: string }): string {
  return cookieName(config.issuer, OWN_COOKIE.signUpBinding);
}

/** `<exp>.<mac>`: the binding of one account id until exp (seconds). */
export async function signUpBinding(secret: string, userId: string, now = Date.now()): Promise<string> {
  const { exp, mac } = await signExpiring(secret, PURPOSE, userId, SIGN_UP_BINDING_TTL_SECONDS, now);
  return `${exp}.${mac}`;
}

/** Whether the Cookie header carries a live binding for exactly this account. */
export async function boundToAccount(
  config: BindingConfig,
  cookieHeader: string | null,
  userId: string,
  now = Date.now(),
): Promise<boolean> {
  const prefix = `${signUpBindingCookieName(config)}=`;
  for (const pair of (cookieHeader ?? "").split(/;\s*/)) {
    if (!pair.startsWith(prefix)) continue;
    const [exp = "", mac = ""] = pair.slice(prefix.length).split(".");
    if (await verifyExpiring(config.betterAuthSecret, PURPOSE, userId, exp, mac, now)) return true;
  }
  return false;
}

/** The Cookie pair that proves the binding to Better Auth's hook, for a call made after the password was checked. */
export async function bindingCookiePair(config: BindingConfig, userId: string): Promise<string> {
  return `${signUpBindingCookieName(config)}=${await signUpBinding(config.betterAuthSecret, userId)}`;
}

/** The account's password hash, if it has one. */
export async function passwordHash(db: D1Database, userId: string): Promise<string | undefined> {
  const row = await drizzle(db)
    .select({ password: account.password })
    .from(account)
    .where(and(eq(account.userId, userId), eq(account.providerId, CREDENTIAL_PROVIDER)))
    .get();
  return row?.password ?? undefined;
}

/** Whether a click alone may verify this account from a request with these cookies. */
export async function clickVerifies(
  db: D1Database,
  config: BindingConfig,
  cookieHeader: string | null,
  userId: string,
): Promise<boolean> {
  if (await boundToAccount(config, cookieHeader, userId)) return true;
  return (await passwordHash(db, userId)) === undefined;
}

type BeforeEmailVerification = NonNullable<
  NonNullable<BetterAuthOptions["emailVerification"]>["beforeEmailVerification"]
>;

/** Better Auth's hook before it marks an address verified (not an email change's). */
export function requireSignUpBrowserOrPassword(db: D1Database, config: BindingConfig): BeforeEmailVerification {
  return async (user, request) => {
    if (await clickVerifies(db, config, request?.headers.get("Cookie") ?? null, user.id)) return;
    throw APIError.from("FORBIDDEN", {
      code: EMAIL_VERIFICATION_PASSWORD_REQUIRED,
      message: "confirm this address from the browser that signed up, or with the account's password",
    });
  };
}

/** Sets the binding cookie on every email sign-up's answer (new and existing addresses alike). */
export function signUpBindingPlugin(config: BindingConfig): BetterAuthPlugin {
  return {
    id: "mono-sign-up-binding",
    hooks: {
      after: [
        {
          matcher: (ctx) => ctx.path === SIGN_UP,
          handler: createAuthMiddleware(async (ctx) => {
            const returned: unknown = ctx.context.returned;
            if (!returned || typeof returned !== "object" || !("user" in returned)) return;
            const user: unknown = returned.user;
            if (!user || typeof user !== "object" || !("id" in user) || typeof user.id !== "string") return;
            ctx.setCookie(signUpBindingCookieName(config), await signUpBinding(config.betterAuthSecret, user.id), {
              httpOnly: true,
              sameSite: "lax",
              secure: config.issuer.startsWith("https://"),
              path: "/",
              maxAge: SIGN_UP_BINDING_TTL_SECONDS,
            });
          }),
        },
      ],
    },
  };
}

/** Whether a Set-Cookie line is the binding (the sign-up form tells it apart from a session). */
export function isSignUpBindingCookie(setCookie: string): boolean {
  return Object.values(COOKIE_PREFIX).some((prefix) => setCookie.startsWith(`${prefix}.${OWN_COOKIE.signUpBinding}=`));
}
