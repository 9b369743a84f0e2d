// Issue 8 end to end over HTTP, at the gateway's DEFAULT bound and push
// setting (wrangler.toml: nothing overridden): a token works through the
// gateway, is revoked by each producer — RFC 7009, an operator's revoke, a
// client's disabling, a delegation grant's revocation — and is then refused
// with ERR_TOKEN_REVOKED, while tokens the revocation does not name keep
// working. No timing is asserted: each check polls until refused, with a
// generous cap.
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { RevocationStreamMessage } from "../../shared/contracts/revocation.ts";
import { GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { BrowserLikeClient } from "../support/browser-like-client.ts";
import { INSECURE, type InteropOperator, interopOperator } from "../support/interop.ts";
import { gatewayVerdict } from "../support/gateway-verdict.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: InteropOperator;
let orgId: string;
let api: string;

/** Generous: the bound is 1 s; this only keeps a broken system from hanging the suite. */
const REFUSED_WITHIN = { timeout: 30_000, interval: 100 };

interface Registered {
  client: oauth.Client;
  auth: oauth.ClientAuth;
}

async function register(org: string, body: Record<string, unknown> = {}): Promise<Registered> {
  const created = await operator.registerClient(org, body);
  return { client: { client_id: created.client_id }, auth: oauth.ClientSecretBasic(created.client_secret as string) };
}

async function clientToken({ client, auth }: Registered): Promise<string> {
  const response = await oauth.clientCredentialsGrantRequest(operator.as, client, auth, { resource: api }, INSECURE);
  return (await oauth.processClientCredentialsResponse(operator.as, client, response)).access_token;
}

const gateway = (token: string): Promise<string> => gatewayVerdict(system, token);

async function expectRefused(token: string): Promise<void> {
  await expect.poll(() => gateway(token), REFUSED_WITHIN).toBe("401 ERR_TOKEN_REVOKED");
}

beforeAll(async () => {
  system = await startSystem();
  api = `${system.origin}/api`;
  operator = await interopOperator(system);
  orgId = await operator.createOrg("Revocation paths");
});
afterAll(() => system?.close());

describe("revoked at every producer, refused at the gateway (default bound, push on)", () => {
  it("RFC 7009: the client revokes its own token; its other token keeps working", async () => {
    const owner = await register(orgId);
    const [revoked, kept] = [await clientToken(owner), await clientToken(owner)];
    expect(await gateway(revoked)).toBe("allowed");
    const response = await oauth.revocationRequest(operator.as, owner.client, owner.auth, revoked, INSECURE);
    await oauth.processRevocationResponse(response);
    await expectRefused(revoked);
    expect(await gateway(kept)).toBe("allowed");
  });

  it("operator revoke (admin API, kind jti): recorded before the 201, then refused", async () => {
    const owner = await register(orgId);
    const token = await clientToken(owner);
    const kept = await clientToken(owner);
    expect(await gateway(token)).toBe("allowed");
    const jti = JSON.parse(atob(token.split(".")[1]?.replace(/-/g, "+").replace(/_/g, "/") ?? "")).jti as string;
    const revoked = await operator.admin("POST", `/orgs/${orgId}/revocations`, { kind: "jti", value: jti });
    expect(revoked.status).toBe(201);
    await expectRefused(token);
    expect(await gateway(kept)).toBe("allowed");
  });

  it("client disable: every token the client holds is refused; another client's is not", async () => {
    const disabled = await register(orgId);
    const other = await register(orgId);
    const token = await clientToken(disabled);
    const otherToken = await clientToken(other);
    expect(await gateway(token)).toBe("allowed");
    const response = await operator.admin("POST", `/orgs/${orgId}/clients/${disabled.client.client_id}/disable`);
    expect(response.status).toBe(200);
    await expectRefused(token);
    expect(await gateway(otherToken)).toBe("allowed");
  });

  it("delegation grant revoke: tokens minted under the grant are refused; the person's own token is not", async () => {
    const browser = new BrowserLikeClient(system);
    const person = await browser.signUp(`grace-${crypto.randomUUID()}@example.com`);
    const exchanged = await browser.exchangeSessionForToken();
    expect(exchanged.status).toBe(200);
    const personToken = ((await exchanged.json()) as { access_token: string }).access_token;
    const agent = await register(person.orgId, {
      client_name: "assistant",
      client_type: "agent",
      grant_types: [GRANT_TYPE.clientCredentials, GRANT_TYPE.tokenExchange],
    });
    const created = await operator.admin("POST", `/orgs/${person.orgId}/delegation-grants`, {
      subject: person.userId,
      actor_client_id: agent.client.client_id,
      scopes: ["documents:read"],
      audiences: [api],
    });
    expect(created.status).toBe(201);
    const grantId = ((await created.json()) as { id: string }).id;

    const exchange = await oauth.genericTokenEndpointRequest(
      operator.as,
      agent.client,
      agent.auth,
      GRANT_TYPE.tokenExchange,
      {
        subject_token: personToken,
        subject_token_type: TOKEN_TYPE.accessToken,
        actor_token: await clientToken(agent),
        actor_token_type: TOKEN_TYPE.accessToken,
        resource: api,
      },
      INSECURE,
    );
    const delegated = (await oauth.processGenericTokenEndpointResponse(operator.as, agent.client, exchange))
      .access_token;
    expect(JSON.parse(atob(delegated.split(".")[1]?.replace(/-/g, "+").replace(/_/g, "/") ?? ""))).toMatchObject({
      grant_id: grantId,
      act: { sub: agent.client.client_id },
    });
    expect(await gateway(delegated)).toBe("allowed");

    const revoked = await operator.admin("DELETE", `/orgs/${person.orgId}/delegation-grants/${grantId}`);
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ id: grantId, status: "revoked" });
    await expectRefused(delegated);
    expect(await gateway(personToken)).toBe("allowed");
    // An operator may record the same kind directly (mono-auth revoke --grant).
    const direct = await operator.admin("POST", `/orgs/${person.orgId}/revocations`, { kind: "grant", value: grantId });
    expect(direct.status).toBe(201);
    expect(await direct.json()).toMatchObject({ kind: "grant", value: grantId });
  });
});

describe("live subscribers over HTTP", () => {
  it("a WebSocket subscriber through the gateway hears each revocation once, in order, with its seq", async () => {
    // The stream is the admin API's, authenticated by the operator's admin token.
    const token = operator.bearer;
    const url = `${system.origin.replace(/^http/, "ws")}${ENDPOINT.admin}/orgs/${orgId}/revocations/stream`;
    const init = { headers: { Authorization: `Bearer ${token}` } } as unknown as string[];
    const socket = new WebSocket(url, init);
    const messages: RevocationStreamMessage[] = [];
    socket.addEventListener("message", (event) => messages.push(JSON.parse(String(event.data))));
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve);
      socket.addEventListener("error", reject);
    });
    for (const value of ["ws-1", "ws-2"]) {
      expect((await operator.admin("POST", `/orgs/${orgId}/revocations`, { kind: "jti", value })).status).toBe(201);
    }
    await expect
      .poll(() => messages.map((m) => (m.type === "revocation" ? m.value : m.type)))
      .toEqual(["ws-1", "ws-2"]);
    const [first, second] = messages;
    expect(first?.type === "revocation" && second?.type === "revocation" && second.seq === first.seq + 1).toBe(true);
    socket.close(1000, "done");
  });
});
