import { env, exports } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { generateScimToken } from "../../shared/crypto/scim-token.ts";
import { hashSecret } from "../../shared/crypto/secret-hash.ts";
import { SCIM_RETRY_AFTER_SECONDS } from "../../shared/errors/scim.ts";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { ORIGIN, signUp } from "./helpers.ts";

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

/** The domain every test org's directory provisions in (scimUserName). */
export const SCIM_DOMAIN = "corp.example";

/**
 * An SSO provider of the org with this domain, as registration stores it and
 * as `/sso/verify-domain` marks it on success (no DNS zone can be published
 * from a test; test/e2e/sso-oidc.test.ts goes through the real endpoints).
 */
export async function ssoDomain(orgId: string, userId: string, domain: string, verified = true) {
  const providerId = `idp-${crypto.randomUUID()}`;
  await env.DB.prepare(
    `INSERT INTO sso_provider (id, issuer, user_id, provider_id, organization_id, domain, domain_verified)
     VALUES (?, 'https://idp.corp.example', ?, ?, ?, ?, ?)`,
  )
    .bind(crypto.randomUUID(), userId, providerId, orgId, domain, verified ? 1 : 0)
    .run();
}

/**
 * An org (its owner signed up through the page) with the verified domain
 * SCIM_DOMAIN, and a SCIM token for it, written as the admin API writes one
 * (workers/token/src/admin/scim-tokens.ts, tested in the token project):
 * only its hash is stored.
 */
export async function scimOrg() {
  const owner = await signUp("SCIM Owner");
  await ssoDomain(owner.orgId, owner.userId, SCIM_DOMAIN);
  const { id, token } = generateScimToken();
  await env.DB.prepare(
    "INSERT INTO scim_token (id, org_id, token_hash, created_by, created_at) VALUES (?, ?, ?, 'test', ?)",
  )
    .bind(id, owner.orgId, await hashSecret(token), Date.now())
    .run();
  return { owner, orgId: owner.orgId, token };
}

/** A SCIM request with the org's token (or the headers given). */
export function scim(
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${ENDPOINT.scim}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { "Content-Type": "application/scim+json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

export function userBody(userName: string, extra: Record<string, unknown> = {}) {
  return { schemas: [USER_SCHEMA], userName, name: { givenName: "Ada", familyName: "Lovelace" }, ...extra };
}

export function scimUserName(): string {
  return `${crypto.randomUUID()}@${SCIM_DOMAIN}`;
}

/** Provisions one person; their SCIM resource. */
export async function provision(token: string, userName = scimUserName()) {
  const response = await scim("POST", "/Users", token, userBody(userName));
  if (response.status !== 201) throw new Error(`provision failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; userName: string; active: boolean };
}

/** A session for a person with no password (a directory's people sign in through SSO): through Better Auth, with its hooks. */
export async function startSession(userId: string) {
  return (await getAuth(env).$context).internalAdapter.createSession(userId);
}

/**
 * A password of the person's own, as an account has that its owner made
 * before a directory adopted it: only such an account takes a reset
 * (sso/managed-password.ts; a directory's own people sign in through SSO).
 */
export async function ownPassword(userId: string, password: string) {
  const context = await getAuth(env).$context;
  await context.internalAdapter.linkAccount({
    userId,
    providerId: "credential",
    accountId: userId,
    password: await context.password.hash(password),
  });
}

/** RFC 7644 §3.12's error body, exactly. */
export function scimError(status: number, scimType: string | undefined, detail: string) {
  return {
    schemas: [ERROR_SCHEMA],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail,
    error: scimType ?? expectPlainCode(status),
    error_description: detail,
  };
}

function expectPlainCode(status: number): string {
  const codes: Record<number, string> = { 401: "unauthorized", 404: "not_found", 503: "unavailable" };
  const code = codes[status];
  if (!code) throw new Error(`no plain SCIM error code for ${status}`);
  return code;
}

/**
 * A SCIM 503 (RFC 7644 §3.12 `unavailable`), exactly: the error body and
 * RFC 9110 §10.2.3 `Retry-After`, which every SCIM 503 carries
 * (shared/errors/scim.ts), as the directory's retry is what cures it.
 */
export async function expectUnavailable(response: Response, detail: string): Promise<void> {
  expect(response.status).toBe(503);
  expect(response.headers.get("Retry-After")).toBe(String(SCIM_RETRY_AFTER_SECONDS));
  expect(await response.json()).toEqual(scimError(503, undefined, detail));
}

/** The 503 of a write whose role or deprovisioning revocation the org's object did not record. */
export const NOT_RECORDED = "the revocation could not be recorded; try again";

/**
 * People provisioned in the org's directory as members (`people`: their
 * ids, or how many to make), written as SCIM writes them, in one batch;
 * their ids. Rows, not requests: a test needing a thousand of them would
 * otherwise spend its time provisioning.
 */
export async function directoryPeople(orgId: string, people: number | string[]): Promise<string[]> {
  const ids = typeof people === "number" ? Array.from({ length: people }, () => crypto.randomUUID()) : people;
  const now = Date.now();
  await env.DB.batch(
    ids.flatMap((userId) => [
      env.DB.prepare("INSERT INTO user (id, name, email, created_at, updated_at) VALUES (?, 'P', ?, ?, ?)").bind(
        userId,
        `${crypto.randomUUID()}@${SCIM_DOMAIN}`,
        now,
        now,
      ),
      env.DB.prepare(
        "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
      ).bind(crypto.randomUUID(), orgId, userId, now),
      env.DB.prepare(
        "INSERT INTO scim_user (user_id, org_id, user_name, user_name_key, active, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
      ).bind(userId, orgId, userId, userId, now, now),
    ]),
  );
  return ids;
}

/**
 * A Group of the org's directory holding these people, written as SCIM
 * writes one (an `Admin` Group with its members' `admin` role, as the
 * projection leaves it), with no request and no cap: also a Group from
 * before the cap on a Group's size. Its id.
 */
export async function directoryGroup(orgId: string, people: string[], displayName = "Admin"): Promise<string> {
  const groupId = crypto.randomUUID();
  const now = Date.now();
  const statements = [
    env.DB.prepare(
      "INSERT INTO scim_group (id, org_id, display_name, display_name_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).bind(groupId, orgId, displayName, displayName.toLowerCase(), now, now),
    env.DB.prepare(
      "INSERT INTO scim_group_member (group_id, user_id, created_at) SELECT ?, value, ? FROM json_each(?)",
    ).bind(groupId, now, JSON.stringify(people)),
  ];
  if (displayName.toLowerCase() === "admin") {
    statements.push(
      env.DB.prepare(
        "UPDATE member SET role = 'admin' WHERE organization_id = ? AND user_id IN (SELECT value FROM json_each(?))",
      ).bind(orgId, JSON.stringify(people)),
    );
  }
  await env.DB.batch(statements);
  return groupId;
}

/** An org admin through the directory's `admin` Group, written as SCIM writes them; no cut-off recorded yet. */
export async function directoryAdmin(orgId: string, userId: string = crypto.randomUUID()) {
  await directoryPeople(orgId, [userId]);
  return { userId, groupId: await directoryGroup(orgId, [userId]) };
}

/** Each person's role in the org, in the order given (undefined for someone not a member). */
export async function rolesIn(orgId: string, people: string[]): Promise<(string | undefined)[]> {
  const rows = await env.DB.prepare(
    "SELECT user_id AS userId, role FROM member WHERE organization_id = ? AND user_id IN (SELECT value FROM json_each(?))",
  )
    .bind(orgId, JSON.stringify(people))
    .all<{ userId: string; role: string }>();
  const roles = new Map(rows.results.map((r) => [r.userId, r.role]));
  return people.map((userId) => roles.get(userId));
}

/** The people whose cut-off the org still owes (D1 `owed_member_cutoff`), oldest first. */
export async function owedRows(orgId: string): Promise<string[]> {
  const rows = await env.DB.prepare("SELECT user_id FROM owed_member_cutoff WHERE org_id = ? ORDER BY created_at, id")
    .bind(orgId)
    .all<{ user_id: string }>();
  return rows.results.map((r) => r.user_id);
}

/**
 * A drizzle over the real D1 that records the SQL of each statement it runs
 * on its own (not in a batch), and counts those that read Group memberships
 * (a Group's members, a User's groups): what an answer that leaves them out
 * must not read.
 */
export function recordingDb() {
  const statements: string[] = [];
  const db = drizzle(env.DB, { logger: { logQuery: (query) => statements.push(query) } });
  const membershipReads = () => statements.filter((s) => s.includes('"scim_group_member"')).length;
  return { db, statements, membershipReads };
}
