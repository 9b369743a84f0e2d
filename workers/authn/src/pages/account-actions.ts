import { isAPIError } from "better-auth/api";
import { and, asc, eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { member, organization, session as sessionTable } from "../../../../shared/db/schema.ts";
import { getAuth } from "../auth/create-auth.ts";
import { API_KEY_MAX_DAYS } from "../auth/plugins/api-key.ts";
import { authnConfig } from "../config.ts";
import { FRESH_SESSION_FOR_API_KEY, isFreshSession } from "../security/fresh-session.ts";
import type { PageSession } from "../two-factor/page-session.ts";

/** What an account action turned into: a message for the page, and cookies when Better Auth replaced the session. */
export type ActionOutcome =
  | { ok: true; notice: string; setCookies?: string[] }
  | { ok: false; status: 400 | 401 | 403 | 404 | 429 | 500 | 503; message: string };

/** Better Auth's error codes as the person at the account page should read them. */
const REFUSALS: Record<string, { status: 400 | 401 | 403 | 404 | 503; message: string }> = {
  INVALID_PASSWORD: { status: 401, message: "That password is not right." },
  INVALID_CODE: { status: 401, message: "That code is not right. Check the time on your device and try again." },
  TOTP_ALREADY_ENABLED: { status: 400, message: "Two-factor authentication is already on." },
  TWO_FACTOR_NOT_ENABLED: { status: 400, message: "Two-factor authentication is off." },
  PASSKEY_NOT_FOUND: { status: 404, message: "No such passkey." },
  KEY_NOT_FOUND: { status: 404, message: "No such API key." },
  USER_NOT_MEMBER_OF_ORGANIZATION: {
    status: 403,
    message: "Only the organization's owners and admins manage its keys.",
  },
  INSUFFICIENT_API_KEY_PERMISSIONS: {
    status: 403,
    message: "Only the organization's owners and admins manage its keys.",
  },
  SECOND_FACTOR_REQUIRED: { status: 403, message: "Confirm your second factor first." },
  API_KEY_LIMIT_REACHED: { status: 403, message: "That is as many keys as one owner may hold. Revoke one first." },
  YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION: { status: 403, message: "You are not a member of that organization." },
  YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER: { status: 403, message: "You may not change that member's role." },
  YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER: { status: 403, message: "You may not remove that member." },
  MEMBER_NOT_FOUND: { status: 404, message: "No such member." },
  YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER: {
    status: 400,
    message: "The organization needs an owner: make someone else owner first.",
  },
  // revocation/endpoint-hooks.ts: the member's tokens could not be cut off, so nothing changed.
  REVOCATION_NOT_RECORDED: { status: 503, message: "The change could not be recorded safely. Try again." },
};

export type ActionRefusal = Extract<ActionOutcome, { ok: false }>;

export function refusal(error: unknown): ActionRefusal {
  if (!isAPIError(error)) throw error;
  const code = typeof error.body?.code === "string" ? error.body.code : undefined;
  const known = code ? REFUSALS[code] : undefined;
  if (known) return { ok: false, ...known };
  const status = error.statusCode;
  if (status >= 500) {
    console.error("account action failed", status, code);
    return { ok: false, status: 500, message: "Something went wrong. Try again." };
  }
  return {
    ok: false,
    status: status === 401 || status === 403 || status === 404 ? status : 400,
    message: error.message,
  };
}

/** A scope such as `documents:read` as the api-key plugin's permission statement `{ documents: ["read"] }`. */
export function scopesAsPermissions(scopes: readonly string[]): Record<string, string[]> {
  const permissions: Record<string, string[]> = {};
  for (const scope of scopes) {
    const [resource = "", action = ""] = scope.split(":");
    permissions[resource] = [...(permissions[resource] ?? []), action];
  }
  return permissions;
}

export function permissionsAsScopes(permissions: Record<string, string[]> | null | undefined): string[] {
  return Object.entries(permissions ?? {}).flatMap(([resource, actions]) => actions.map((a) => `${resource}:${a}`));
}

/** The person's role in their session's active organization, and its name. */
export async function activeMembership(env: AuthnEnv, session: PageSession) {
  const orgId = session.session.activeOrganizationId;
  if (!orgId) return null;
  const db = drizzle(env.DB);
  const row = await db
    .select({ id: organization.id, name: organization.name, role: member.role })
    .from(member)
    .innerJoin(organization, eq(organization.id, member.organizationId))
    .where(and(eq(member.userId, session.user.id), eq(member.organizationId, orgId)))
    .get();
  return row ?? null;
}

/**
 * The person's live sessions, read from D1 for the account page. Not through
 * Better Auth's `/list-sessions`: it answers with every session's token, so
 * it asks for a session signed in within `freshAge`
 * (SESSION_FRESH_AGE_SECONDS, 15 minutes), and the page failed with a 500
 * for anyone signed in longer, leaving them no way to see or end a stolen
 * session. The page shows no token; the token is only read to end one.
 */
export async function liveSessions(env: AuthnEnv, userId: string) {
  return drizzle(env.DB)
    .select({
      id: sessionTable.id,
      token: sessionTable.token,
      createdAt: sessionTable.createdAt,
      expiresAt: sessionTable.expiresAt,
      userAgent: sessionTable.userAgent,
      ipAddress: sessionTable.ipAddress,
    })
    .from(sessionTable)
    .where(and(eq(sessionTable.userId, userId), gt(sessionTable.expiresAt, new Date())))
    .orderBy(asc(sessionTable.createdAt))
    .all();
}

export async function isMemberOf(env: AuthnEnv, userId: string, organizationId: string): Promise<boolean> {
  const row = await drizzle(env.DB)
    .select({ id: member.id })
    .from(member)
    .where(and(eq(member.userId, userId), eq(member.organizationId, organizationId)))
    .get();
  return row !== undefined;
}

export function managesOrgKeys(role: string | undefined): boolean {
  return (role ?? "").split(",").some((r) => r.trim() === "owner" || r.trim() === "admin");
}

export interface NewKeyRequest {
  owner: "user" | "org";
  name: string;
  scopes: string[];
  days: number;
}

/** Reads the create-key form; a string says what is wrong with it. */
export function readNewKey(form: FormData): NewKeyRequest | string {
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value.trim() : "";
  };
  const owner = text("owner") === "org" ? "org" : "user";
  const name = text("name");
  if (!name || name.length > 64) return "Give the key a name of at most 64 characters.";
  const scopes = form.getAll("scope").filter((s): s is string => typeof s === "string");
  if (scopes.some((s) => !ALL_SCOPES.has(s))) return "Choose scopes from the list.";
  if (scopes.length === 0) return "Choose at least one scope.";
  const days = Number(text("days"));
  if (!Number.isInteger(days) || days < 1 || days > API_KEY_MAX_DAYS) {
    return `Choose an expiry between 1 and ${API_KEY_MAX_DAYS} days.`;
  }
  return { owner, name, scopes: [...new Set(scopes)], days };
}

/**
 * Creates a key for the person or for their active organization. The scopes
 * are a server-only property of the api-key plugin, so the key is created
 * here, without the request's headers, for the session's user: the plugin
 * then checks (for an org key) that this user's role may create the org's keys.
 */
export async function createKey(
  env: AuthnEnv,
  session: PageSession,
  request: NewKeyRequest,
): Promise<{ ok: true; key: string; name: string } | ActionRefusal> {
  // ASVS 5.0 V7.5.1, as for the API's /api-key/create (security/fresh-session.ts).
  if (!isFreshSession(session.session.createdAt, authnConfig(env).sessions.freshAgeSeconds)) {
    return { ok: false, status: 403, message: FRESH_SESSION_FOR_API_KEY };
  }
  const auth = getAuth(env);
  const orgId = session.session.activeOrganizationId ?? undefined;
  try {
    const created = await auth.api.createApiKey({
      body: {
        configId: request.owner,
        name: request.name,
        expiresIn: request.days * 24 * 60 * 60,
        permissions: scopesAsPermissions(request.scopes),
        userId: session.user.id,
        ...(request.owner === "org" ? { organizationId: orgId ?? "" } : {}),
      },
    });
    return { ok: true, key: created.key, name: created.name ?? request.name };
  } catch (error) {
    return refusal(error);
  }
}
