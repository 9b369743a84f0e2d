// An MCP client known only by its Client ID Metadata Document, through the
// browser provider (workers/authn/src/mcp-clients/client-discovery.ts): the
// authorize endpoint resolves the https client_id at its host (the real host
// Worker test/support/runtime/cimd-host, bound as CIMD_OUTBOUND in this
// project), the person consents, and the code redeems for a token whose
// audience is exactly the demo MCP server (RFC 8707). Refusals: a document
// naming another client_id, a redirect URI the document does not list, a
// private address, a resource the client may not have.
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { DEMO_MCP_SERVER, mcpResource } from "../../shared/contracts/mcp.ts";
import { mcpServer } from "../../shared/db/mcp-schema.ts";
import { AUTH_ERROR_PAGE } from "../../workers/authn/src/pages/auth-error.tsx";
import { ISSUER, oidc, pkce, type TokenResponse } from "./oidc-helpers.ts";

const { authorize, authorizeAndConsent, codeRequest, signUp, tokenRequest } = oidc;

const CLIENT_ID = "https://client.example.test/clients/good";
const CALLBACK = "https://client.example.test/callback";
const DEMO = mcpResource(ISSUER, DEMO_MCP_SERVER.name);

function mcpRequest(clientId: string, challenge: string, overrides: Record<string, string> = {}) {
  return codeRequest(clientId, challenge, {
    redirect_uri: CALLBACK,
    // What the MCP SDK asks for (the challenge's scope); with openid the provider adds its userinfo audience.
    scope: "documents:read",
    nonce: undefined,
    resource: DEMO,
    ...overrides,
  });
}

/** What the authorize endpoint answered: a redirect to the client or to the error page, or an error body. */
async function refusal(params: Record<string, string>, cookie: string) {
  const response = await authorize(params, cookie);
  const location = response.headers.get("Location") ?? "";
  if (location.startsWith(CALLBACK)) {
    const url = new URL(location);
    return {
      to: "client",
      error: url.searchParams.get("error"),
      description: url.searchParams.get("error_description"),
    };
  }
  const target = location ? new URL(location, ISSUER) : undefined;
  const search = target?.searchParams;
  const body = search ? null : ((await response.json().catch(() => null)) as Record<string, string> | null);
  return {
    to: target?.pathname === AUTH_ERROR_PAGE ? "error page" : "provider",
    status: response.status,
    error: search?.get("error") ?? body?.error ?? null,
    description: search?.get("error_description") ?? body?.error_description ?? null,
  };
}

describe("MCP clients by Client ID Metadata Document at the authorization endpoint", () => {
  it("resolves the client from its document, and the code redeems for a token for exactly /mcp/demo", async () => {
    const person = await signUp();
    const { verifier, challenge } = await pkce();
    const request = mcpRequest(CLIENT_ID, challenge);
    const back = await authorizeAndConsent(request, person.cookie);
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
    expect(back.searchParams.get("iss")).toBe(ISSUER);
    const response = await tokenRequest({
      grant_type: "authorization_code",
      client_id: CLIENT_ID,
      code: back.searchParams.get("code") ?? "",
      redirect_uri: CALLBACK,
      code_verifier: verifier,
      resource: DEMO,
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const tokens = (await response.json()) as TokenResponse;
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: ISSUER,
      aud: DEMO,
      client_id: CLIENT_ID,
      sub: person.userId,
      org_id: person.orgId,
    });
  });

  it("refuses a document whose client_id is another URL: invalid_client ERR_CIMD_CLIENT_ID_MISMATCH", async () => {
    const person = await signUp();
    const { challenge } = await pkce();
    const answer = await refusal(mcpRequest("https://client.example.test/clients/mismatch", challenge), person.cookie);
    // RFC 6749 §4.1.2.1: the person is told on the error page, never sent to the client.
    expect(answer).toMatchObject({ to: "error page", status: 302, error: "invalid_client" });
    expect(answer.description).toContain("ERR_CIMD_CLIENT_ID_MISMATCH");
  });

  it("never skips consent for a document that asks to: invalid_client ERR_CIMD_INVALID_DOCUMENT, no client stored", async () => {
    const person = await signUp();
    const { challenge } = await pkce();
    const clientId = "https://client.example.test/clients/skip-consent";
    const answer = await refusal(mcpRequest(clientId, challenge, { prompt: "none" }), person.cookie);
    // RFC 6749 §4.1.2.1: the person is told on the error page, never sent to the client.
    expect(answer).toMatchObject({ to: "error page", status: 302, error: "invalid_client" });
    expect(answer.description).toContain("ERR_CIMD_INVALID_DOCUMENT");
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM oidc_client WHERE client_id = ?")
      .bind(clientId)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  it("refuses a private address without fetching: invalid_client ERR_CIMD_FORBIDDEN_ADDRESS", async () => {
    const person = await signUp();
    const { challenge } = await pkce();
    const answer = await refusal(mcpRequest("https://169.254.169.254/clients/good", challenge), person.cookie);
    // RFC 6749 §4.1.2.1: the person is told on the error page, never sent to the client.
    expect(answer).toMatchObject({ to: "error page", status: 302, error: "invalid_client" });
    expect(answer.description).toContain("ERR_CIMD_FORBIDDEN_ADDRESS");
  });

  it("refuses a redirect URI the document does not list (never redirects there)", async () => {
    const person = await signUp();
    const { challenge } = await pkce();
    const answer = await refusal(
      mcpRequest(CLIENT_ID, challenge, { redirect_uri: "https://client.example.test/callback/other" }),
      person.cookie,
    );
    expect(answer).toMatchObject({ to: "error page", status: 302, error: "invalid_redirect" });
  });

  it("refuses a resource a metadata-document client may not have: invalid_target", async () => {
    const person = await signUp();
    const { challenge } = await pkce();
    const answer = await refusal(mcpRequest(CLIENT_ID, challenge, { resource: env.API_AUDIENCE }), person.cookie);
    expect(answer).toMatchObject({ to: "client", error: "invalid_target" });
  });

  it("a client seen for the first time may ask for a server its person's org registered (mcp-clients/org-resources.ts)", async () => {
    const person = await signUp();
    const name = `notes-${crypto.randomUUID().slice(0, 8)}`;
    const now = new Date();
    // The row the token Worker's registry writes (workers/token/src/mcp/registry.ts).
    await drizzle(env.DB)
      .insert(mcpServer)
      .values({
        id: crypto.randomUUID(),
        orgId: person.orgId,
        name,
        upstreamKind: "url",
        upstream: "https://notes.example.com/mcp",
        resource: mcpResource(ISSUER, name),
        scopes: "documents:read",
        tools: "[]",
        description: "",
        owner: "platform@example.com",
        status: "active",
        createdAt: now,
        updatedAt: now,
      });
    const clientId = `https://${crypto.randomUUID()}.example.test/clients/good`;
    const { verifier, challenge } = await pkce();
    const resource = mcpResource(ISSUER, name);
    const back = await authorizeAndConsent(mcpRequest(clientId, challenge, { resource }), person.cookie);
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
    const response = await tokenRequest({
      grant_type: "authorization_code",
      client_id: clientId,
      code: back.searchParams.get("code") ?? "",
      redirect_uri: CALLBACK,
      code_verifier: verifier,
      resource,
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const tokens = (await response.json()) as TokenResponse;
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: resource, org_id: person.orgId, client_id: clientId });
  });

  it("a client seen for the first time by requests at once is stored once, and each is answered (no 500)", async () => {
    // Two tabs, or a prefetch and the navigation: every request resolves the new document and stores
    // the client; the ones that lose the insert take the stored row instead of failing. Whatever the
    // interleaving, each answer is the consent page of this request and one row holds the client.
    for (let round = 0; round < 4; round++) {
      const person = await signUp();
      const clientId = `https://${crypto.randomUUID()}.example.test/clients/good`;
      const { challenge } = await pkce();
      const request = mcpRequest(clientId, challenge);
      const answers = await Promise.all(Array.from({ length: 6 }, () => authorize(request, person.cookie)));
      for (const answer of answers) {
        const location = answer.headers.get("Location") ?? "";
        expect({ round, status: answer.status }).toEqual({ round, status: 302 });
        const consent = new URL(location, ISSUER);
        expect([consent.pathname, consent.searchParams.get("client_id")]).toEqual(["/consent", clientId]);
      }
      const rows = await env.DB.prepare("SELECT count(*) AS n FROM oidc_client WHERE client_id = ?")
        .bind(clientId)
        .first<{ n: number }>();
      expect(rows?.n).toBe(1);
    }
  });
});
