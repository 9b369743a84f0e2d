// The console's live revocation list resumes where EventSource left off:
// the org's object ends a subscription with its credential (a console
// session's is checked again every minute, docs/revocation.md), and
// EventSource reconnects with Last-Event-ID; resumed from the page's own
// `after` instead, every reconnection added the same rows again.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { oidcDriver } from "../support/runtime/browser-oidc.ts";
import { gatewayFetch } from "./signed-token.ts";

const ORIGIN = "http://localhost:8787";

const people = oidcDriver({
  issuer: env.ISSUER,
  apiAudience: env.API_AUDIENCE,
  db: env.DB,
  authn: (request) => gatewayFetch(request.url, request),
  tokenEndpoint: `${ORIGIN}${ENDPOINT.token}`,
  token: (request) => gatewayFetch(request.url, request),
  jwks: async () => (await gatewayFetch(`${ORIGIN}${ENDPOINT.jwks}`)).json(),
});

/** The first chunk the console's stream sends. */
async function firstChunk(response: Response): Promise<string> {
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader?.read();
  await reader?.cancel();
  return first?.value ?? "";
}

describe("the console's revocation stream", () => {
  it("resumes after Last-Event-ID, not from the page's after", async () => {
    const owner = await people.signUp("Org Owner");
    const org = env.ORG_STATE.getByName(orgStateName(owner.orgId));
    const seen = await org.revoke({ orgId: owner.orgId, kind: "jti", value: "seen-already", reason: "operator" });
    await org.revoke({ orgId: owner.orgId, kind: "jti", value: "not-yet-seen", reason: "operator" });

    const response = await gatewayFetch(
      `${ORIGIN}${ENDPOINT.console}/orgs/${encodeURIComponent(owner.orgId)}/revocations/stream?after=0`,
      { headers: { Cookie: owner.cookie, Accept: "text/event-stream", "Last-Event-ID": String(seen) } },
    );
    expect(response.status).toBe(200);
    const chunk = await firstChunk(response);
    expect(chunk).toContain('"value":"not-yet-seen"');
    expect(chunk).not.toContain('"value":"seen-already"');
  });
});
