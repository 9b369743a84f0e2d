import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminAudience, ENDPOINT, ssfAudience } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { SSF_DELIVERY } from "../../shared/contracts/ssf.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { isForbiddenHost, outboundUrlProblem } from "../../shared/http/outbound-url.ts";
import worker from "../../workers/token/src/index.ts";
import { expectHttpError } from "./admin-fixtures.ts";
import { basicAuthorization, createTestOrg, registerTestClient, type TestClient } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError } from "./fixtures.ts";

// Every URL an org admin or an org's ssf:manage client stores and a Worker
// of ours later fetches goes through one guard (shared/http/outbound-url.ts).
// These run the token Worker with a public https issuer, as a real
// deployment has: the loopback allowance the other tests rely on (their
// issuer is http://localhost) must not exist there.

const PUBLIC_ISSUER = "https://id.mono-auth.example";
// The generated Env types the vars as wrangler.toml's literals; this deployment has others.
const publicEnv = {
  ...env,
  ISSUER: PUBLIC_ISSUER,
  ALLOWED_AUDIENCES: `${env.ALLOWED_AUDIENCES} ${ssfAudience(PUBLIC_ISSUER)}`,
} as unknown as typeof env;

async function onPublicDeployment(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, publicEnv, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

function call(method: string, path: string, token: string, body: unknown): Promise<Response> {
  return onPublicDeployment(
    new Request(`${PUBLIC_ISSUER}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

async function tokenFor(client: TestClient, audience: string): Promise<string> {
  const response = await onPublicDeployment(
    new Request(`${PUBLIC_ISSUER}${ENDPOINT.token}`, {
      method: "POST",
      headers: {
        Authorization: basicAuthorization(client.clientId, client.secret),
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials, resource: audience }),
    }),
  );
  if (response.status !== 200) throw new Error(`client_credentials: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** The review's findings: each was stored (201/200) before the guard. */
const INTERNAL_URLS = [
  "https://169.254.169.254/latest/meta-data/",
  "http://127.0.0.1:9/",
  "https://10.0.0.1/",
  "https://[::1]/",
  "https://[fd00::1]/",
  "https://2130706433/",
  "https://0x7f.1/",
  "https://0177.0.0.1/",
  "https://metadata.google.internal/",
  "https://localhost/",
  "https://localhost./",
  "https://foo.internal./",
  "https://printer.local/",
  "https://app.localhost/",
  "https://[::7f00:1]/",
  "https://[::a9fe:a9fe]/",
  "https://[::ffff:169.254.169.254]/",
  "https://[64:ff9b::a9fe:a9fe]/",
  "https://[2002:a9fe:a9fe::]/",
  "https://[fec0::1]/",
  "https://[fe80::1]/",
  "https://metadata/",
  "https://instance-data/",
  "https://192.0.0.170/",
  "https://198.18.0.1/",
  "https://100.64.0.1/",
  "https://172.16.0.1/",
  "https://192.168.1.1/",
  "https://0.0.0.0/",
  "https://255.255.255.255/",
  "https://224.0.0.1/",
];

const PUBLIC_URL = "https://provider.example.com/oauth/token";

/** Each admin endpoint that stores a fetched URL, as a body carrying `url` in the field under test. */
interface Target {
  name: string;
  method: string;
  path: (orgId: string) => string;
  body: (url: string) => Record<string, unknown>;
  /** The problem's detail names the field. */
  field: string;
}

const TARGETS: Target[] = [
  {
    name: "vault provider token_endpoint",
    method: "POST",
    path: (org) => `${ENDPOINT.admin}/orgs/${org}/vault/providers`,
    body: (url) => ({
      name: `p-${crypto.randomUUID().slice(0, 8)}`,
      resource: "demo-echo",
      authorization_endpoint: "https://provider.example.com/authorize",
      token_endpoint: url,
      client_id: "c",
      client_secret: "s",
    }),
    field: "token_endpoint",
  },
  {
    name: "vault provider authorization_endpoint",
    method: "POST",
    path: (org) => `${ENDPOINT.admin}/orgs/${org}/vault/providers`,
    body: (url) => ({
      name: `p-${crypto.randomUUID().slice(0, 8)}`,
      resource: "demo-echo",
      authorization_endpoint: url,
      token_endpoint: PUBLIC_URL,
      client_id: "c",
    }),
    field: "authorization_endpoint",
  },
  {
    name: "client jwks_uri",
    method: "POST",
    path: (org) => `${ENDPOINT.admin}/orgs/${org}/clients`,
    body: (url) => ({
      client_name: "keys elsewhere",
      client_type: "machine",
      scope: "documents:read",
      audiences: [AUDIENCE],
      token_endpoint_auth_method: "private_key_jwt",
      jwks_uri: url,
    }),
    field: "jwks_uri",
  },
  {
    name: "trusted issuer jwks_uri",
    method: "POST",
    path: (org) => `${ENDPOINT.admin}/orgs/${org}/trusted-issuers`,
    body: (url) => ({ issuer: `https://idp-${crypto.randomUUID().slice(0, 8)}.example.com`, jwks_uri: url }),
    field: "jwks_uri",
  },
  {
    name: "SSF push endpoint (admin API)",
    method: "POST",
    path: (org) => `${ENDPOINT.admin}/orgs/${org}/ssf/streams`,
    body: (url) => ({
      aud: "https://receiver.example.com",
      delivery: { method: SSF_DELIVERY.push, endpoint_url: url },
    }),
    field: "delivery.endpoint_url",
  },
  {
    name: "access webhook",
    method: "PUT",
    path: (org) => `${ENDPOINT.admin}/orgs/${org}/access-webhook`,
    body: (url) => ({ url }),
    field: "url",
  },
];

describe("outbound URL guard: tenant-set URLs never name an internal host (on a public deployment)", () => {
  for (const target of TARGETS) {
    it(`${target.name}: 400 invalid_body for each internal address, 2xx for a public https URL`, async () => {
      const orgId = await createTestOrg();
      const operator = await registerTestClient({
        orgId: null,
        scopes: [SCOPE.admin],
        audiences: [adminAudience(PUBLIC_ISSUER)],
      });
      const token = await tokenFor(operator, adminAudience(PUBLIC_ISSUER));
      // Refused before anything is stored, so the addresses are independent: sent at once, each
      // call waits out its own audit batch alongside the others rather than one after another.
      await Promise.all(
        INTERNAL_URLS.map(async (url) => {
          const response = await call(target.method, target.path(orgId), token, target.body(url));
          const problem = await expectHttpError(response, 400, "invalid_body");
          expect(problem.detail, url).toMatch(new RegExp(`^${target.field.replace(".", "\\.")}: `));
        }),
      );
      const accepted = await call(target.method, target.path(orgId), token, target.body(PUBLIC_URL));
      expect([200, 201]).toContain(accepted.status);
    });
  }

  it("SSF push endpoint set by the org's ssf:manage client: 400 invalid_body for each internal address", async () => {
    const orgId = await createTestOrg();
    const audience = ssfAudience(PUBLIC_ISSUER);
    const receiver = await registerTestClient({ orgId, scopes: [SCOPE.ssfManage], audiences: [audience] });
    const token = await tokenFor(receiver, audience);
    await Promise.all(
      INTERNAL_URLS.map(async (url) => {
        const response = await call("POST", `${ENDPOINT.ssf}/streams`, token, {
          delivery: { method: SSF_DELIVERY.push, endpoint_url: url },
        });
        const body = await expectOAuthError(response, 400, "invalid_body");
        expect(String(body.error_description), url).toMatch(/^delivery\.endpoint_url: /);
      }),
    );
    const created = await call("POST", `${ENDPOINT.ssf}/streams`, token, {
      delivery: { method: SSF_DELIVERY.push, endpoint_url: "https://receiver.example.com/events" },
    });
    expect(created.status).toBe(201);
  });
});

describe("outbound URL guard: the loopback allowance of local development", () => {
  it("holds only on a loopback issuer, and never for private, link-local or metadata addresses", () => {
    expect(outboundUrlProblem("http://127.0.0.1:9/jwks", "http://localhost:8787")).toBeUndefined();
    expect(outboundUrlProblem("https://[::1]/jwks", "http://127.0.0.1:8787")).toBeUndefined();
    expect(outboundUrlProblem("http://127.0.0.1:9/jwks", PUBLIC_ISSUER)).toBe("must be https");
    expect(outboundUrlProblem("https://localhost/jwks", PUBLIC_ISSUER)).toMatch(/must not be a loopback/);
    // An https issuer on localhost is not the local convenience (isLocalIssuer: plain http only).
    expect(outboundUrlProblem("https://localhost/jwks", "https://localhost")).toMatch(/must not be a loopback/);
    for (const url of ["https://10.0.0.1/", "https://169.254.169.254/", "https://metadata.google.internal/"]) {
      expect(outboundUrlProblem(url, "http://localhost:8787"), url).toMatch(/must not be a loopback/);
    }
  });

  it("leaves public names and addresses alone", () => {
    for (const host of ["provider.example.com", "93.184.215.14", "[2606:4700::1111]", "1.1.1.1", "example.com."]) {
      expect(isForbiddenHost(host), host).toBe(false);
    }
  });
});
