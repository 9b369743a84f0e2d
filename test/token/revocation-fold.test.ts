import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT } from "../../shared/contracts/revocation.ts";
import { SSF_EVENT } from "../../shared/contracts/ssf.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { securityEventFor } from "../../workers/token/src/ssf/revocation-events.ts";
import { clientToken, registerTestClient, type TestClient } from "./clients-fixtures.ts";
import { introspected, jtiOf, makeResourceServer, revoke, revokedJtis } from "./revocation-fixtures.ts";

const now = () => Math.floor(Date.now() / 1000);

/**
 * What MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT revocations of the client's own
 * tokens leave in its org's object, recorded through the object's RPC as the
 * endpoint records them: minting and revoking a thousand real tokens over
 * HTTP would take minutes and the client's mint budget.
 */
async function revokedUpToTheCap(client: TestClient): Promise<void> {
  const orgId = client.orgId as string;
  const stub = env.ORG_STATE.getByName(orgStateName(orgId));
  await Promise.all(
    Array.from({ length: MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT }, () => {
      const iat = now() - 10;
      return stub.revokeToken({
        claims: { jti: crypto.randomUUID(), sub: client.clientId, client_id: client.clientId, org_id: orgId, iat },
        expiresAt: iat + 300,
        byTokenClient: true,
        reason: `rfc7009 by ${client.clientId}`,
      });
    }),
  );
}

async function clientCutOff(orgId: string, clientId: string): Promise<number | undefined> {
  const { entries } = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return entries.find((e) => e.kind === "client" && e.value === clientId)?.revokedAt;
}

describe(`RFC 7009 at ${ENDPOINT.revocation}: a client's revocations past its cap`, () => {
  it("are folded into one cut-off of the client's tokens, audited as that, and a later token is served", async () => {
    const client = await registerTestClient();
    const orgId = client.orgId as string;
    const [earlier, target] = [await clientToken(client), await clientToken(client)];
    await revokedUpToTheCap(client);

    expect((await revoke(target, client)).status).toBe(200);
    const revokedAt = await clientCutOff(orgId, client.clientId);
    expect(revokedAt).toBeGreaterThanOrEqual(decodeJwt(target).iat as number);
    expect(await revokedJtis(orgId)).toEqual([]);
    // Never revoked one by one, issued before the cut-off: refused with it.
    expect(await introspected(earlier, client)).toEqual({ active: false });
    expect(await introspected(target, client)).toEqual({ active: false });
    await expect
      .poll(async () =>
        (
          await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE kind = 'revocation.recorded' AND org_id = ?")
            .bind(orgId)
            .all<{ detail: string }>()
        ).results.map((r) => JSON.parse(r.detail) as Record<string, unknown>),
      )
      .toEqual([
        expect.objectContaining({
          revocation_kind: "client",
          value: client.clientId,
          jti: jtiOf(target),
          recorded: "client",
        }),
      ]);

    // What an SSF receiver is told (ssf/revocation-events.ts): the token, then its client's cut-off.
    const { version } = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
    const changes = await env.ORG_STATE.getByName(orgStateName(orgId)).changesSince(version - 2);
    const events = changes.kind === "changes" ? changes.events : [];
    expect(events.map((event) => securityEventFor(env.ISSUER, orgId, event))).toEqual([
      expect.objectContaining({
        type: SSF_EVENT.tokenRevoked,
        subId: { format: "jwt_id", iss: env.ISSUER, jti: jtiOf(target) },
      }),
      expect.objectContaining({
        type: SSF_EVENT.credentialChange,
        subId: { format: "complex", application: { format: "opaque", id: client.clientId }, tenant: expect.anything() },
        body: expect.objectContaining({ change_type: "revoke", event_timestamp: revokedAt, initiating_entity: "user" }),
      }),
    ]);

    // A token minted in the cut-off's second is refused with it (iat <= revoked_at): mint in the next one.
    while (now() <= (revokedAt as number)) await new Promise((resolve) => setTimeout(resolve, 50));
    const later = await clientToken(client);
    expect(decodeJwt(later).iat).toBeGreaterThan(revokedAt as number);
    expect(await introspected(later, client)).toMatchObject({ active: true });
  });

  it("are never folded for a resource server's revocation of the client's token", async () => {
    const owner = await registerTestClient();
    const server = await registerTestClient({ orgId: owner.orgId });
    await makeResourceServer(server);
    const [token, other] = [await clientToken(owner), await clientToken(owner)];
    await revokedUpToTheCap(owner);

    expect((await revoke(token, server)).status).toBe(200);
    expect(await clientCutOff(owner.orgId as string, owner.clientId)).toBeUndefined();
    expect(await introspected(token, owner)).toEqual({ active: false });
    expect(await introspected(other, owner)).toMatchObject({ active: true });
  });
});
