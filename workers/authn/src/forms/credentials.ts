import { isAPIError } from "better-auth/api";
import { CONTROL_CHARACTER } from "../auth/body-shape-guards.ts";
import type { Auth } from "../auth/create-auth.ts";
import { apiResponse } from "./api-response.ts";
import { isSignUpBindingCookie } from "../security/sign-up-binding.ts";
import {
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  PASSWORD_CONTEXT_SPECIFIC,
  PASSWORD_TOO_COMMON,
} from "../security/password-policy.ts";

/** What a form post turned into: a redirect with cookies, or a message for the form. */
export type FormOutcome =
  /** `verifyEmail`: the account exists (or the address was already taken: the same answer) and waits for its address to be confirmed. */
  | { ok: true; setCookies: string[]; verifyEmail?: true; twoFactor?: true }
  | { ok: false; status: 400 | 401 | 403 | 409 | 422 | 429 | 500; message: string; code?: string };

interface BetterAuthErrorBody {
  code?: string;
  message?: string;
}

type FormStatus = Extract<FormOutcome, { ok: false }>["status"];

const NO_MATCH = "That email and password do not match an account.";
const BAD_EMAIL = "Enter a valid email address.";
/**
 * Better Auth's stable error codes, as the person at the form should read
 * them. An existing email is a conflict (409), whatever status Better Auth
 * gives it (422 in 1.7).
 */
const REFUSALS: Record<string, { status?: FormStatus; message: string }> = {
  INVALID_EMAIL_OR_PASSWORD: { message: NO_MATCH },
  USER_ALREADY_EXISTS: { status: 409, message: "An account with that email already exists. Sign in instead." },
  USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL: {
    status: 409,
    message: "An account with that email already exists. Sign in instead.",
  },
  PASSWORD_TOO_SHORT: { message: `Use a password of at least ${MIN_PASSWORD_LENGTH} characters.` },
  PASSWORD_TOO_LONG: { message: `Use a password of at most ${MAX_PASSWORD_LENGTH} characters.` },
  [PASSWORD_TOO_COMMON]: { status: 400, message: "That password is one of the most common ones. Choose another." },
  [PASSWORD_CONTEXT_SPECIFIC]: {
    status: 400,
    message: "Choose a password that is not your email address, your name or our name.",
  },
  // Only after the right password (Better Auth checks it first), so it tells a guesser nothing.
  EMAIL_NOT_VERIFIED: {
    status: 403,
    message: "Confirm your email address first: we have sent you a new link.",
  },
  INVALID_EMAIL: { message: BAD_EMAIL },
  // Better Auth's body schema: our forms send every field as a string, so
  // the one check it can fail is the email address's syntax.
  VALIDATION_ERROR: { status: 400, message: BAD_EMAIL },
};

/** The same caps the form's inputs carry (RFC 5321 §4.5.3.1.3 for the address), enforced here too. */
const MAX_NAME = 100;
const MAX_EMAIL = 254;

function field(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value.trim() : "";
}

/** Cookies as a request would send them back, from a response's Set-Cookie lines. */
function cookieHeader(setCookies: string[], inbound: string | null): string {
  const pairs = setCookies.map((line) => line.split(";")[0] ?? "").filter(Boolean);
  return [inbound, ...pairs].filter(Boolean).join("; ");
}

function isFormStatus(status: number): status is FormStatus {
  return status === 400 || status === 401 || status === 403 || status === 409 || status === 422 || status === 429;
}

async function failure(response: Response): Promise<FormOutcome> {
  const body = (await response.json().catch(() => ({}))) as BetterAuthErrorBody;
  const known = body.code ? REFUSALS[body.code] : undefined;
  const status: FormStatus = known?.status ?? (isFormStatus(response.status) ? response.status : 500);
  if (status === 500) console.error("auth form failed", response.status, body.code);
  const message = known?.message ?? (status === 500 ? undefined : body.message) ?? "Something went wrong. Try again.";
  return { ok: false, status, message, ...(body.code ? { code: body.code } : {}) };
}

export async function signInWithForm(auth: Auth, request: Request, form: FormData): Promise<FormOutcome> {
  const email = field(form, "email");
  const password = form.get("password");
  if (!email || typeof password !== "string" || password === "") {
    return { ok: false, status: 400, message: "Enter your email and password." };
  }
  if (email.length > MAX_EMAIL) return { ok: false, status: 401, message: NO_MATCH };
  const response = await auth.api.signInEmail({
    body: { email, password },
    headers: request.headers,
    asResponse: true,
  });
  if (!response.ok) return failure(response);
  const setCookies = response.headers.getSetCookie();
  // An account whose address had to be confirmed first was created without
  // a session, so without its organization: its first sign-in creates it.
  const signedIn = (await response.json().catch(() => ({}))) as {
    user?: { id?: string; name?: string };
    twoFactorRedirect?: boolean;
  };
  // The password was right and the person has 2FA on: Better Auth set only
  // the challenge cookie (auth/plugins/two-factor.ts), no session yet.
  if (signedIn.twoFactorRedirect) return { ok: true, setCookies, twoFactor: true };
  if (signedIn.user?.id && !(await hasOrganization(auth, signedIn.user.id))) {
    const org = await createFirstOrganization(auth, request, signedIn.user.name ?? "My", setCookies);
    if (!org.ok) return failure(org);
    return { ok: true, setCookies: [...setCookies, ...org.headers.getSetCookie()] };
  }
  return { ok: true, setCookies };
}

async function hasOrganization(auth: Auth, userId: string): Promise<boolean> {
  const context = await auth.$context;
  const memberships = await context.adapter.count({ model: "member", where: [{ field: "userId", value: userId }] });
  return memberships > 0;
}

/**
 * The person's first organization, of which they are the owner and which
 * becomes their session's active organization, so the first token they get
 * already names a tenant.
 */
async function createFirstOrganization(auth: Auth, request: Request, name: string, sessionCookies: string[]) {
  const headers = new Headers(request.headers);
  headers.set("Cookie", cookieHeader(sessionCookies, null));
  const slug = `${
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 32) || "org"
  }-${crypto.randomUUID().slice(0, 8)}`;
  return auth.api.createOrganization({
    body: { name: `${name}'s organization`, slug },
    headers,
    asResponse: true,
  });
}

/**
 * Creates the account and the person's first organization, of which they
 * are the owner and which becomes their session's active organization, so
 * the first token they get already names a tenant.
 */
export async function signUpWithForm(auth: Auth, request: Request, form: FormData): Promise<FormOutcome> {
  const name = field(form, "name");
  const email = field(form, "email");
  const password = form.get("password");
  if (!name || !email || typeof password !== "string" || password === "") {
    return { ok: false, status: 400, message: "Enter your name, email and a password." };
  }
  if (name.length > MAX_NAME)
    return { ok: false, status: 400, message: `Use a name of at most ${MAX_NAME} characters.` };
  if (CONTROL_CHARACTER.test(name))
    return { ok: false, status: 400, message: "Use a name without control characters." };
  if (email.length > MAX_EMAIL) return { ok: false, status: 400, message: BAD_EMAIL };
  const signUp = await apiResponse(() =>
    auth.api.signUpEmail({
      body: { name, email, password },
      headers: request.headers,
      asResponse: true,
    }),
  );
  if (!signUp.ok) return failure(signUp);
  const allCookies = signUp.headers.getSetCookie();
  const binding = allCookies.filter(isSignUpBindingCookie);
  const sessionCookies = allCookies.filter((line) => !isSignUpBindingCookie(line));
  // No session: the address must be confirmed first (REQUIRE_EMAIL_VERIFICATION),
  // and an address that already had an account gets this very answer too.
  // The browser keeps the binding that lets it confirm with a click
  // (security/sign-up-binding.ts).
  if (sessionCookies.length === 0) return { ok: true, setCookies: binding, verifyEmail: true };

  const org = await createFirstOrganization(auth, request, name, sessionCookies);
  if (!org.ok) return failure(org);
  return { ok: true, setCookies: [...allCookies, ...org.headers.getSetCookie()] };
}

/**
 * Ends the cookie's session. Not ok when it could not be ended safely (its
 * tokens' revocation was not recorded: revocation/endpoint-hooks.ts); the
 * cookie then stays, so the person can try again.
 */
export async function signOutWithForm(auth: Auth, request: Request): Promise<{ ok: boolean; setCookies: string[] }> {
  let response: Response;
  try {
    response = await auth.api.signOut({ headers: request.headers, asResponse: true });
  } catch (error) {
    // A `hooks.before` refusal is thrown even with asResponse.
    if (!isAPIError(error)) throw error;
    console.error("sign-out refused", error.body?.code);
    return { ok: false, setCookies: [] };
  }
  if (!response.ok) console.error("sign-out failed", response.status);
  return { ok: response.ok, setCookies: response.ok ? response.headers.getSetCookie() : [] };
}
