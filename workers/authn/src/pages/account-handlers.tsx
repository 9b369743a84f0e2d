import { isAPIError } from "better-auth/api";
import type { Context } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { auditRateLimited } from "../audit/credential-audit.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { checkCredentialAttempt, retryAfterHeader } from "../limits/credential-limits.ts";
import { isSameOriginPost } from "../security/same-origin.ts";
import { type PageSession, pageSession } from "../two-factor/page-session.ts";
import {
  type ActionOutcome,
  activeMembership,
  createKey,
  isMemberOf,
  liveSessions,
  managesOrgKeys,
  permissionsAsScopes,
  readNewKey,
  refusal,
} from "./account-actions.ts";
import { AccountPage, type AccountPageProps } from "./account-page.tsx";
import type { AuthnApp } from "./handlers.tsx";
import { TotpSetupPage } from "./totp-setup-page.tsx";
import { WEBAUTHN_SCRIPT } from "./webauthn-script.ts";

type PageContext = Context<AuthnApp>;

/**
 * What the page says after an action that replaced the session (so it ends
 * in a redirect): named by a fixed key in the query, never echoed text.
 */
const DONE: Record<string, string> = {
  "two-factor-on": "Two-factor authentication is on.",
  "two-factor-off": "Two-factor authentication is off.",
  "org-switched": "Active organization switched.",
};
type Extra = Pick<AccountPageProps, "notice" | "error" | "createdKey">;

function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value.trim() : "";
}

/** Everything the account page lists, read for the session's person through Better Auth. */
async function renderAccount(
  c: PageContext,
  session: PageSession,
  extra: Extra = {},
  status: 200 | 400 | 401 | 403 | 404 | 429 | 500 | 503 = 200,
) {
  const auth = getAuth(c.env);
  const headers = c.req.raw.headers;
  const membership = await activeMembership(c.env, session);
  const managesKeys = managesOrgKeys(membership?.role);
  const [sessions, passkeys, userKeys, orgKeys, orgs, members] = await Promise.all([
    liveSessions(c.env, session.user.id),
    auth.api.listPasskeys({ headers }),
    auth.api.listApiKeys({ headers, query: { configId: "user" } }),
    managesKeys && membership
      ? auth.api.listApiKeys({ headers, query: { configId: "org", organizationId: membership.id } })
      : Promise.resolve({ apiKeys: [] }),
    auth.api.listOrganizations({ headers }),
    membership
      ? auth.api.listMembers({ headers, query: { organizationId: membership.id } })
      : Promise.resolve({ members: [] }),
  ]);
  const keys = [...userKeys.apiKeys, ...orgKeys.apiKeys].map((k) => ({
    id: k.id,
    configId: k.configId === "org" ? ("org" as const) : ("user" as const),
    name: k.name ?? "",
    start: k.start ?? null,
    scopes: permissionsAsScopes(k.permissions),
    expiresAt: k.expiresAt ? new Date(k.expiresAt) : null,
  }));
  return c.html(
    <AccountPage
      nonce={c.var.nonce}
      user={{
        name: session.user.name,
        email: session.user.email,
        twoFactorEnabled: session.user.twoFactorEnabled === true,
      }}
      org={membership ? { ...membership, managesKeys } : null}
      sessions={sessions.map((s) => ({
        id: s.id,
        createdAt: new Date(s.createdAt),
        expiresAt: new Date(s.expiresAt),
        userAgent: s.userAgent ?? null,
        ipAddress: s.ipAddress ?? null,
        current: s.id === session.session.id,
      }))}
      passkeys={passkeys.map((p) => ({
        id: p.id,
        name: p.name ?? "Passkey",
        createdAt: p.createdAt ? new Date(p.createdAt) : null,
      }))}
      keys={keys}
      organizations={{
        orgs: orgs.map((o) => ({ id: o.id, name: o.name, active: o.id === membership?.id })),
        members: members.members.map((m) => ({
          id: m.id,
          name: m.user.name,
          email: m.user.email,
          role: m.role,
          self: m.userId === session.user.id,
        })),
        activeName: membership?.name ?? null,
        managesMembers: managesKeys,
      }}
      {...extra}
    />,
    status,
  );
}

/** GET /account */
export async function showAccount(c: PageContext) {
  const current = await pageSession(c.env, c.req.raw.headers);
  if ("redirect" in current) return c.redirect(current.redirect, 303);
  const done = DONE[c.req.query("done") ?? ""];
  return renderAccount(c, current.session, done ? { notice: done } : {});
}

/** GET /account/webauthn.js: the WebAuthn ceremonies, the one script of the sign-in and account pages. */
export function webauthnScript(c: PageContext) {
  return c.body(WEBAUTHN_SCRIPT, 200, {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
  });
}

type Action = (c: PageContext, session: PageSession, form: FormData) => Promise<ActionOutcome | Response>;

/**
 * A POST below /account: same origin (CSRF), a session that passed its
 * second factor, then the action; the page again with its outcome.
 * `password: true` actions check a password or a code, so they spend the
 * credential limits of a password attempt.
 */
function accountAction(action: Action, options: { guessable?: boolean } = {}) {
  return async (c: PageContext) => {
    if (!isSameOriginPost(c.req.raw, authnConfig(c.env).issuer)) {
      return httpErrorResponse("cross_origin_post", "form posts must come from this origin");
    }
    const current = await pageSession(c.env, c.req.raw.headers);
    if ("redirect" in current) return c.redirect(current.redirect, 303);
    const { session } = current;
    if (options.guessable) {
      const verdict = await checkCredentialAttempt(c.env, authnConfig(c.env), c.req.raw.headers, session.user.email);
      if (verdict.limited) {
        c.executionCtx.waitUntil(
          auditRateLimited(c.env, { path: c.req.path, by: verdict.by, attempt: verdict.attempt }),
        );
        for (const [name, value] of Object.entries(retryAfterHeader(verdict))) c.header(name, value);
        return renderAccount(c, session, { error: "Too many attempts. Wait a minute, then try again." }, 429);
      }
    }
    const form = await c.req.raw.formData().catch(() => new FormData());
    const outcome = await action(c, session, form);
    if (outcome instanceof Response) return outcome;
    if (!outcome.ok) return renderAccount(c, session, { error: outcome.message }, outcome.status);
    if (outcome.setCookies) {
      // Better Auth replaced the session: the page comes from the new one.
      for (const cookie of outcome.setCookies) c.header("Set-Cookie", cookie, { append: true });
      const done = Object.keys(DONE).find((key) => DONE[key] === outcome.notice) ?? "";
      return c.redirect(`${ENDPOINT.account}?done=${done}`, 303);
    }
    return renderAccount(c, session, { notice: outcome.notice });
  };
}

export const revokeSession = accountAction(async (c, session, form) => {
  const id = text(form, "id");
  const auth = getAuth(c.env);
  // Better Auth ends a session by its token; the page only ever shows ids.
  const mine = (await liveSessions(c.env, session.user.id)).find((s) => s.id === id);
  if (!mine || mine.id === session.session.id) return { ok: false, status: 404, message: "No such session." };
  try {
    await auth.api.revokeSession({ body: { token: mine.token }, headers: c.req.raw.headers });
  } catch (error) {
    return refusal(error);
  }
  return { ok: true, notice: "Session ended." };
});

export const renamePasskey = accountAction(async (c, _session, form) => {
  const name = text(form, "name");
  if (!name || name.length > 64)
    return { ok: false, status: 400, message: "Give the passkey a name of at most 64 characters." };
  try {
    await getAuth(c.env).api.updatePasskey({ body: { id: text(form, "id"), name }, headers: c.req.raw.headers });
  } catch (error) {
    return refusal(error);
  }
  return { ok: true, notice: "Passkey renamed." };
});

export const deletePasskey = accountAction(async (c, _session, form) => {
  try {
    await getAuth(c.env).api.deletePasskey({ body: { id: text(form, "id") }, headers: c.req.raw.headers });
  } catch (error) {
    return refusal(error);
  }
  return { ok: true, notice: "Passkey deleted." };
});

export const enableTwoFactor = accountAction(
  async (c, _session, form) => {
    try {
      const enabled = await getAuth(c.env).api.enableTwoFactor({
        body: { password: text(form, "password") },
        headers: c.req.raw.headers,
      });
      if (!("totpURI" in enabled) || !enabled.totpURI)
        return { ok: false, status: 500, message: "Something went wrong." };
      return c.html(
        <TotpSetupPage nonce={c.var.nonce} totpUri={enabled.totpURI} backupCodes={enabled.backupCodes ?? []} />,
      );
    } catch (error) {
      return refusal(error);
    }
  },
  { guessable: true },
);

/** Only an otpauth URI is put back into the page's link (never `javascript:` or any other scheme). */
function otpauthUri(value: string): string | null {
  try {
    return new URL(value).protocol === "otpauth:" ? value : null;
  } catch {
    return null;
  }
}

export const confirmTwoFactor = accountAction(
  async (c, _session, form) => {
    const code = text(form, "code");
    let response: Response;
    try {
      response = await getAuth(c.env).api.verifyTOTP({ body: { code }, headers: c.req.raw.headers, asResponse: true });
    } catch (error) {
      if (!isAPIError(error)) throw error;
      response = Response.json(error.body ?? {}, { status: error.statusCode });
    }
    if (response.ok)
      return { ok: true, notice: "Two-factor authentication is on.", setCookies: response.headers.getSetCookie() };
    const totpUri = otpauthUri(text(form, "totpUri"));
    const { code: reason } = (await response.json().catch(() => ({}))) as { code?: string };
    if (!totpUri || reason !== "INVALID_CODE")
      return { ok: false, status: 400, message: "Set up two-factor authentication again." };
    const backupCodes = form
      .getAll("backupCode")
      .filter((v): v is string => typeof v === "string")
      .slice(0, 20);
    return c.html(
      <TotpSetupPage
        nonce={c.var.nonce}
        totpUri={totpUri}
        backupCodes={backupCodes}
        error="That code is not right. Check the time on your device and try again."
      />,
      401,
    );
  },
  { guessable: true },
);

export const disableTwoFactor = accountAction(
  async (c, _session, form) => {
    try {
      const response = await getAuth(c.env).api.disableTwoFactor({
        body: { password: text(form, "password") },
        headers: c.req.raw.headers,
        asResponse: true,
      });
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { code?: string };
        return body.code === "INVALID_PASSWORD"
          ? { ok: false, status: 401, message: "That password is not right." }
          : { ok: false, status: 400, message: "Two-factor authentication could not be turned off." };
      }
      return { ok: true, notice: "Two-factor authentication is off.", setCookies: response.headers.getSetCookie() };
    } catch (error) {
      return refusal(error);
    }
  },
  { guessable: true },
);

export const createApiKey = accountAction(async (c, session, form) => {
  const request = readNewKey(form);
  if (typeof request === "string") return { ok: false, status: 400, message: request };
  const created = await createKey(c.env, session, request);
  if (!created.ok) return created;
  return renderAccount(c, session, { createdKey: { name: created.name, key: created.key } });
});

export const revokeApiKey = accountAction(async (c, _session, form) => {
  const configId = text(form, "owner") === "org" ? "org" : "user";
  try {
    await getAuth(c.env).api.deleteApiKey({ body: { keyId: text(form, "id"), configId }, headers: c.req.raw.headers });
  } catch (error) {
    return refusal(error);
  }
  return { ok: true, notice: "API key revoked." };
});

export const switchOrganization = accountAction(async (c, session, form) => {
  const organizationId = text(form, "organizationId");
  // Better Auth answers a switch to someone else's org by unsetting the
  // session's active org; a forged post should change nothing at all.
  if (!(await isMemberOf(c.env, session.user.id, organizationId))) {
    return { ok: false, status: 403, message: "You are not a member of that organization." };
  }
  try {
    const response = await getAuth(c.env).api.setActiveOrganization({
      body: { organizationId },
      headers: c.req.raw.headers,
      asResponse: true,
    });
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as { code?: string };
      return body.code === "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION" || response.status === 403
        ? { ok: false, status: 403, message: "You are not a member of that organization." }
        : { ok: false, status: 400, message: "That organization could not be made active." };
    }
    // The session changed: the page is read again from it.
    return { ok: true, notice: DONE["org-switched"] ?? "", setCookies: response.headers.getSetCookie() };
  } catch (error) {
    return refusal(error);
  }
});

const MEMBER_ROLES: ReadonlySet<string> = new Set(["member", "admin", "owner"]);

/** Better Auth decides who may change whom (owners and admins; never above their own role). */
export const changeMemberRole = accountAction(async (c, session, form) => {
  const role = text(form, "role");
  if (!MEMBER_ROLES.has(role)) return { ok: false, status: 400, message: "Choose member, admin or owner." };
  const organizationId = session.session.activeOrganizationId ?? "";
  try {
    await getAuth(c.env).api.updateMemberRole({
      body: { memberId: text(form, "memberId"), role, organizationId },
      headers: c.req.raw.headers,
    });
  } catch (error) {
    return refusal(error);
  }
  return { ok: true, notice: "Role changed." };
});

/** Removing a member revokes the tokens they hold in the org (revocation/membership-revocation.ts). */
export const removeMember = accountAction(async (c, session, form) => {
  const organizationId = session.session.activeOrganizationId ?? "";
  try {
    await getAuth(c.env).api.removeMember({
      body: { memberIdOrEmail: text(form, "memberId"), organizationId },
      headers: c.req.raw.headers,
    });
  } catch (error) {
    return refusal(error);
  }
  return { ok: true, notice: "Member removed." };
});
