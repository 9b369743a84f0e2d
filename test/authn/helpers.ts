import { env, exports } from "cloudflare:workers";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { clientAddress } from "../support/credential-limits.ts";

export const ORIGIN = new URL(env.ISSUER).origin;

/** A client address of a test's own (test/support/credential-limits.ts). */
export { clientAddress };

/** A form post as a browser on another address would send it: Origin, and `cf-connecting-ip` from the edge. */
export function form(
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = { Origin: ORIGIN },
) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "cf-connecting-ip": clientAddress(), ...headers },
      body: new URLSearchParams(fields),
      redirect: "manual",
    }),
  );
}

/** A JSON call to Better Auth's API, from this origin, with the given cookies. */
export function api(path: string, body: unknown, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`${ORIGIN}/api/auth${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: ORIGIN, "cf-connecting-ip": clientAddress(), ...headers },
      body: JSON.stringify(body),
    }),
  );
}

export function get(path: string, headers: Record<string, string> = {}) {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers, redirect: "manual" }));
}

/** The `name=value` pairs a browser would send back. */
export function cookiesFrom(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
}

export function uniqueEmail(): string {
  return `${crypto.randomUUID()}@example.com`;
}

export const PASSWORD = "correct horse battery staple";

/** Signs a new person up through the page; their cookie, ids and first org. */
export async function signUp(name = "Test Person", email = uniqueEmail()) {
  const response = await form("/sign-up", { name, email, password: PASSWORD });
  if (response.status !== 303) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  const row = await env.DB.prepare(
    `SELECT u.id AS userId, s.id AS sessionId, s.active_organization_id AS orgId
       FROM user u JOIN session s ON s.user_id = u.id WHERE u.email = ?`,
  )
    .bind(email)
    .first<{ userId: string; sessionId: string; orgId: string }>();
  if (!row) throw new Error("no session after sign-up");
  return { email, cookie: cookiesFrom(response), ...row };
}

/** The live revocation entries of one org, from its Durable Object. */
/** How many member cut-offs an org still owes (D1 `owed_member_cutoff`): none once a change has answered. */
export async function owedCutoffs(orgId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM owed_member_cutoff WHERE org_id = ?")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

export async function revocations(orgId: string) {
  return (await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId)).entries;
}

/** POST /app/token as the /app page sends it: same origin, the cookie, a form body. */
export function exchange(
  cookie: string,
  fields: Record<string, string> = { audience: env.API_AUDIENCE, scope: "documents:read" },
  headers: Record<string, string> = { Origin: ORIGIN },
) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${ENDPOINT.sessionToken}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie, ...headers },
      body: new URLSearchParams(fields),
    }),
  );
}

/** An access token for the cookie's session, through POST /app/token. */
export async function accessToken(cookie: string): Promise<string> {
  const response = await exchange(cookie);
  if (response.status !== 200) throw new Error(`exchange failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}
