import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { GatewayAssertionVerifier } from "../../shared/gateway-assertion/verify-gateway-assertion.ts";
import { freshMcpName, registerMcpServer } from "./mcp-server-rows.ts";
import { agentTokenAt, externalMcpServer, postToolsList } from "./mcp-calls.ts";
import { type TestSigner, testSigner } from "./signed-token.ts";

// A registered MCP server at an https URL receives the request at that URL
// (docs/mcp.md), not at the public `/mcp/<name>`. The gateway assertion it
// gets must name the path it receives, or the shared verifier — which
// compares the signed path with the downstream's own request — refuses every
// request it is sent. The real gateway signs (its route, its signer, its
// key); the third party's server is the one thing stood in for, as in
// mcp-saved-connection.test.ts: an https host the test answers for.

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
beforeEach(() => signer.publish());
afterEach(() => {
  vi.restoreAllMocks();
});

describe("the gateway assertion sent to a registered https MCP server", () => {
  it("names the path and query the server receives: it verifies there, and at any other path or query is ERR_ASSERTION_REQUEST_MISMATCH", async () => {
    const host = `mcp-${crypto.randomUUID().slice(0, 8)}.example.com`;
    const received = externalMcpServer(host);
    const orgId = `org-${crypto.randomUUID()}`;
    const name = freshMcpName();
    await registerMcpServer(orgId, name, { url: `https://${host}/rpc` });
    const audience = `${env.ISSUER}/mcp/${name}`;
    const response = await postToolsList(`/mcp/${name}?session=1`, await agentTokenAt(signer, name, orgId));
    expect(response.status).toBe(200);
    expect(received).toHaveLength(1);
    const sent = received[0] as Request;
    expect(sent.url).toBe(`https://${host}/rpc?session=1`);

    // The downstream's side, as the shared verifier runs it on the request it received.
    const verifier = new GatewayAssertionVerifier({ issuer: env.ISSUER, jwks: JSON.parse(env.GATEWAY_ASSERTION_JWKS) });
    const atUpstream = new Request(sent.url, { method: "POST", headers: sent.headers });
    await expect(verifier.verify(atUpstream, new URL(atUpstream.url), { audience })).resolves.toMatchObject({
      aud: audience,
      org_id: orgId,
      method: "POST",
      path: "/rpc",
    });
    // The same assertion replayed at the public path, another endpoint of the host or another query proves nothing there.
    for (const path of [`/mcp/${name}?session=1`, "/admin/rpc?session=1", "/rpc?session=2", "/rpc"]) {
      const elsewhere = new Request(`https://${host}${path}`, { method: "POST", headers: sent.headers });
      await expect(verifier.verify(elsewhere, new URL(elsewhere.url), { audience })).rejects.toMatchObject({
        code: "ERR_ASSERTION_REQUEST_MISMATCH",
      });
    }
  });

  it("an org's server refuses with ERR_ASSERTION_ORG what the gateway signed for another org's server of the same name, sent to its URL", async () => {
    // Two orgs may register one name, so both servers' assertions carry aud `<issuer>/mcp/<name>`. Org A
    // registers org B's URL under B's name (or replays, within the minute, what its own upstream was sent):
    // its agent's request reaches B's server with a valid assertion, and only the org tells them apart.
    const host = `mcp-${crypto.randomUUID().slice(0, 8)}.example.com`;
    const received = externalMcpServer(host);
    const [orgA, orgB] = [`org-${crypto.randomUUID()}`, `org-${crypto.randomUUID()}`];
    const name = freshMcpName();
    await registerMcpServer(orgB, name, { url: `https://${host}/mcp` });
    await registerMcpServer(orgA, name, { url: `https://${host}/mcp` });
    const audience = `${env.ISSUER}/mcp/${name}`;
    const response = await postToolsList(`/mcp/${name}`, await agentTokenAt(signer, name, orgA));
    expect(response.status).toBe(200);
    const sent = received[0] as Request;

    // Org B's server, verifying as docs/mcp.md says: its audience and its org.
    const verifier = new GatewayAssertionVerifier({ issuer: env.ISSUER, jwks: JSON.parse(env.GATEWAY_ASSERTION_JWKS) });
    const atB = new Request(sent.url, { method: "POST", headers: sent.headers });
    await expect(verifier.verify(atB, new URL(atB.url), { audience, orgId: orgB })).rejects.toMatchObject({
      code: "ERR_ASSERTION_ORG",
    });
    await expect(verifier.verify(atB, new URL(atB.url), { audience, orgId: orgA })).resolves.toMatchObject({
      org_id: orgA,
    });
  });
});
