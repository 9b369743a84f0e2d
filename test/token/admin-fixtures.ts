import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { PROBLEM_CONTENT_TYPE, type ProblemBody, problemType } from "../../shared/errors/problem.ts";
import { clientToken, registerTestClient, type TestClient } from "./clients-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";

/** A platform operator client (no org, `admin`, the admin audience), as `operator bootstrap` writes one. */
export function registerOperator(options: { status?: "active" | "disabled" } = {}): Promise<TestClient> {
  return registerTestClient({
    orgId: null,
    scopes: [SCOPE.admin],
    audiences: [adminAudience(env.ISSUER)],
    status: options.status,
  });
}

/** An admin token, by client credentials, as the CLI gets one. */
export async function adminToken(operator?: TestClient): Promise<string> {
  return clientToken(operator ?? (await registerOperator()), adminAudience(env.ISSUER));
}

export interface AdminRequestOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A call of the admin API at ENDPOINT.admin + path. */
export function adminRequest(method: string, path: string, options: AdminRequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] ??= "application/json";
  return exports.default.fetch(
    new Request(`http://localhost${ENDPOINT.admin}${path}`, {
      method,
      headers,
      body:
        options.body === undefined
          ? undefined
          : typeof options.body === "string"
            ? options.body
            : JSON.stringify(options.body),
    }),
  );
}

/**
 * An admin API error: RFC 9457 problem details (shared/errors/problem.ts)
 * with the exact code and status, its stable `type`, and the code under the
 * names every Mono-Auth error carries (so expectOAuthError's check holds too).
 */
export async function expectHttpError(response: Response, status: number, code: string) {
  expect(response.headers.get("Content-Type")).toBe(PROBLEM_CONTENT_TYPE);
  const body = (await expectOAuthError(response, status, code)) as ProblemBody;
  expect(body.type).toBe(problemType(code));
  expect(body.status).toBe(status);
  expect(body.code).toBe(code);
  expect(body.detail).toBe(body.error_description);
  expect(typeof body.title).toBe("string");
  return body;
}

/** The client revocations the org's Durable Object holds. */
export async function clientRevocations(orgId: string): Promise<string[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((e) => e.kind === "client").map((e) => e.value);
}
