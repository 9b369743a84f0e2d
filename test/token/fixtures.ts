import { env, exports } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { SignJWT } from "jose";
import { expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SIGNING_ALG } from "../../shared/contracts/tokens.ts";
import { member, organization, session, user } from "../../shared/db/schema.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { currentSigningKey, keyStore } from "../../workers/token/src/keys/signing-keys.ts";

/** A user (`user-<id>`), written to D1 the way Better Auth writes one. */
export async function seedUser(id: string = crypto.randomUUID()): Promise<string> {
  const userId = `user-${id}`;
  const now = new Date();
  await drizzle(env.DB)
    .insert(user)
    .values({
      id: userId,
      name: "Test",
      email: `${id}@example.com`,
      emailVerified: false,
      createdAt: now,
      updatedAt: now,
    });
  return userId;
}

/** Any claims, signed with the issuer's current key under `typ` (to forge what our grants never mint). */
export async function signWithOurKey(typ: string, claims: Record<string, unknown>): Promise<string> {
  const key = await currentSigningKey(keyStore(env, tokenConfig(env)));
  return new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, typ, kid: key.kid }).sign(key.privateKey);
}

/** A user with a session in an org, written to D1 the way Better Auth writes them. */
export async function seedSession(
  options: { role?: string; activeOrg?: boolean; member?: boolean; expiresInMs?: number } = {},
) {
  const db = drizzle(env.DB);
  const id = crypto.randomUUID();
  const userId = `user-${id}`;
  const orgId = `org-${id}`;
  const token = `session-token-${id}`;
  const now = new Date();
  await seedUser(id);
  await db.insert(organization).values({ id: orgId, name: "Org", slug: `org-${id}`, createdAt: now });
  if (options.member !== false) {
    await db
      .insert(member)
      .values({ id: `m-${id}`, organizationId: orgId, userId, role: options.role ?? "member", createdAt: now });
  }
  await db.insert(session).values({
    id: `s-${id}`,
    token,
    userId,
    expiresAt: new Date(Date.now() + (options.expiresInMs ?? 3_600_000)),
    createdAt: now,
    updatedAt: now,
    activeOrganizationId: options.activeOrg === false ? null : orgId,
  });
  return { userId, orgId, token, sessionId: `s-${id}` };
}

/** The first audience the token Worker may mint for. */
export const AUDIENCE = env.ALLOWED_AUDIENCES.split(" ")[0] as string;

const hextet = () => Math.floor(Math.random() * 0x10000).toString(16);

/**
 * An IPv6 /64 no other request uses (2001:db8::/32 is the documentation
 * prefix). Requests get one each so that the per-address limit on the token
 * endpoint never counts one test's requests against another's.
 */
export function freshPrefix64(): string {
  return `2001:db8:${hextet()}:${hextet()}`;
}

export function freshClientAddress(): string {
  return `${freshPrefix64()}::1`;
}

export interface TokenRequestOptions {
  contentType?: string;
  /** `cf-connecting-ip`; a fresh address when absent. */
  clientAddress?: string;
  headers?: Record<string, string>;
}

export type TokenRequestBody = Record<string, string> | URLSearchParams | ReadableStream<Uint8Array> | string;

function toBody(body: TokenRequestBody): BodyInit {
  if (typeof body === "string" || body instanceof URLSearchParams || body instanceof ReadableStream) return body;
  return new URLSearchParams(body);
}

/** POST ENDPOINT.token as a client would send it. */
export function tokenRequest(body: TokenRequestBody, options: TokenRequestOptions = {}): Promise<Response> {
  return formRequest(ENDPOINT.token, body, options);
}

/** POST a form to one of the token Worker's form endpoints (token, revocation, introspection) as a client would. */
export function formRequest(
  path: string,
  body: TokenRequestBody,
  options: TokenRequestOptions = {},
): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers: {
        "Content-Type": options.contentType ?? "application/x-www-form-urlencoded",
        "cf-connecting-ip": options.clientAddress ?? freshClientAddress(),
        ...options.headers,
      },
      body: toBody(body),
    }),
  );
}

/**
 * RFC 6749 §5.2: the exact code, its status, a description, never cached.
 * The admin API's errors (shared/errors/http.ts) are the same JSON
 * (shared/errors/json-error.ts): admin-fixtures.ts checks them with this too.
 */
export async function expectOAuthError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe("string");
  return body;
}

/** A body streamed in chunks, so the request carries no Content-Length. */
export function streamedBody(totalBytes: number, chunkBytes = 1024): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode("a".repeat(chunkBytes));
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= totalBytes) {
        controller.close();
        return;
      }
      const n = Math.min(chunkBytes, totalBytes - sent);
      controller.enqueue(n === chunkBytes ? chunk : chunk.slice(0, n));
      sent += n;
    },
  });
}
