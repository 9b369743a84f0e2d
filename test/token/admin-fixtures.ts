import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { basicAuthorization, registerTestClient, type TestClient } from "./clients-fixtures.ts";
import { tokenRequest } from "./fixtures.ts";

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
  const client = operator ?? (await registerOperator());
  const response = await tokenRequest(
    { grant_type: GRANT_TYPE.clientCredentials },
    { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
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

/** An http.ts error body: the exact code and status. */
export async function expectHttpError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe("string");
  return body;
}

/** The client revocations the org's Durable Object holds. */
export async function clientRevocations(orgId: string): Promise<string[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((e) => e.kind === "client").map((e) => e.value);
}
