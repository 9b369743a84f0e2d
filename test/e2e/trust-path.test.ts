// The heart of the product, across the real Workers on one origin: a person
// signs up and in at the edge, gets an access token, calls a protected API
// through the gateway, and the demo service returns only what policy allows.
import { decodeJwt, decodeProtectedHeader } from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIRST_PARTY_CLIENT_ID, GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { BrowserLikeClient } from "../support/browser-like-client.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const OTHER_AUDIENCE = "https://other.example/api";

let system: RunningSystem;
let alice: BrowserLikeClient;
let aliceIds: { userId: string; orgId: string };

beforeAll(async () => {
  system = await startSystem({
    extraAudiences: [OTHER_AUDIENCE],
    gatewayVars: { REVOCATION_MAX_STALENESS_MS: "1000" },
  });
  alice = new BrowserLikeClient(system);
  aliceIds = await alice.signUp(`alice-${crypto.randomUUID()}@example.com`);
});
afterAll(() => system?.close());

interface DocumentsBody {
  user_id: string;
  org_id: string;
  documents: { org_id: string; classification: string }[];
}

async function accessToken(client: BrowserLikeClient, audience?: string): Promise<string> {
  const response = await client.exchangeSessionForToken(audience);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

function documents(token: string, headers: [string, string][] = []) {
  return system.fetch("/api/documents", { headers: [["Authorization", `Bearer ${token}`], ...headers] });
}

describe("the trust path", () => {
  it("mints an RFC 9068 access token for the signed-in session", async () => {
    const token = await accessToken(alice);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    const session = await alice.session();
    expect(decodeJwt(token)).toMatchObject({
      iss: system.origin,
      sub: aliceIds.userId,
      aud: `${system.origin}/api`,
      client_id: FIRST_PARTY_CLIENT_ID,
      scope: "documents:read",
      org_id: aliceIds.orgId,
      sid: session.id,
    });
  });

  it("returns only the caller's org's documents of the classifications their role may read", async () => {
    const response = await documents(await accessToken(alice));
    expect(response.status).toBe(200);
    const body = (await response.json()) as DocumentsBody;
    expect(body.user_id).toBe(aliceIds.userId);
    expect(body.org_id).toBe(aliceIds.orgId);
    // Alice created the org, so she is its owner: confidential too, never restricted.
    expect(body.documents.map((d) => d.classification).sort()).toEqual(["confidential", "internal", "public"]);
    expect(body.documents.every((d) => d.org_id === aliceIds.orgId)).toBe(true);
  });

  it("never lets spoofed trusted headers reach the downstream service", async () => {
    const response = await documents(await accessToken(alice), [
      ["X-User-ID", "mallory"],
      ["x_user_id", "mallory"],
      ["X-Org-ID", "org_someone_else"],
      ["X-ABAC-Filter", '{"org_id":"org_someone_else"}'],
      ["x-abac_filter", "{}"],
    ]);
    const body = (await response.json()) as DocumentsBody;
    expect(body.user_id).toBe(aliceIds.userId);
    expect(body.org_id).toBe(aliceIds.orgId);
    expect(body.documents.some((d) => d.org_id !== aliceIds.orgId)).toBe(false);
  });

  it("refuses a real token minted for another audience", async () => {
    const response = await documents(await accessToken(alice, OTHER_AUDIENCE));
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    expect(((await response.json()) as { error_description: string }).error_description).toMatch(/^ERR_TOKEN_AUD:/);
  });

  it("refuses a real token whose payload was edited", async () => {
    const [header, payload, signature] = (await accessToken(alice)).split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, org_id: "org_someone_else" })).toString("base64url");
    const response = await documents(`${header}.${forged}.${signature}`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error_description: string }).error_description).toMatch(
      /^ERR_TOKEN_SIGNATURE:/,
    );
  });

  it("401 with a Bearer challenge and no error when there is no token", async () => {
    const response = await system.fetch("/api/documents");
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');
  });

  it("audits minting and decisions in D1, and no record holds the token", async () => {
    const token = await accessToken(alice);
    const { jti } = decodeJwt(token);
    expect((await documents(token)).status).toBe(200);
    await expect
      .poll(async () =>
        (await system.query<{ kind: string }>("SELECT kind FROM audit_event WHERE instr(detail, ?) > 0", jti))
          .map((r) => r.kind)
          .sort(),
      )
      .toEqual(["gateway.decision", "token.issued"]);
    const leaked = await system.query("SELECT id FROM audit_event WHERE instr(detail, ?) > 0", token.split(".")[2]);
    expect(leaked).toEqual([]);
  });

  it("ends the session's tokens at the gateway when the person signs out", async () => {
    const bob = new BrowserLikeClient(system);
    await bob.signUp(`bob-${crypto.randomUUID()}@example.com`);
    const token = await accessToken(bob);
    expect((await documents(token)).status).toBe(200);
    const signOut = await bob.postJson("/api/auth/sign-out", {});
    expect(signOut.status).toBe(200);
    // The gateway's view is at most REVOCATION_MAX_STALENESS_MS (1 s here) old.
    await expect
      .poll(
        async () =>
          ((await (await documents(token)).json()) as { error_description?: string }).error_description ?? "ok",
        {
          timeout: 10_000,
          interval: 250,
        },
      )
      .toMatch(/^ERR_TOKEN_REVOKED:/);
  });
});

describe("interop with a client we did not write (oauth4webapi)", () => {
  it("discovers the issuer and validates a token from /app/token as an RFC 9068 resource server", async () => {
    const issuer = new URL(system.origin);
    const options = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { ...options, algorithm: "oauth2" }),
    );
    expect(as.token_endpoint).toBe(`${system.origin}/oauth2/token`);

    const token = await accessToken(alice);
    const request = new Request(`${system.origin}/api/documents`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const claims = await oauth.validateJwtAccessToken(as, request, `${system.origin}/api`, options);
    expect(claims).toMatchObject({ sub: aliceIds.userId, client_id: FIRST_PARTY_CLIENT_ID, org_id: aliceIds.orgId });
  });

  it("gets an RFC 6749 error it can parse when it offers a session at the public token endpoint", async () => {
    const response = await alice.request("/oauth2/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: GRANT_TYPE.tokenExchange,
        subject_token: "anything",
        subject_token_type: TOKEN_TYPE.session,
        audience: `${system.origin}/api`,
      }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({
      error: "invalid_request",
      error_description: "a session is not exchanged at the token endpoint",
    });
  });
});
