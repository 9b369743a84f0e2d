import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { CLOCK_TOLERANCE_SECONDS, JWT_TYP } from "../../shared/contracts/tokens.ts";
import { registerTestClient, clientToken } from "./clients-fixtures.ts";
import { expectOAuthError, signWithOurKey } from "./fixtures.ts";
import {
  introspected,
  jtiOf,
  makeResourceServer,
  revoke,
  revokedJtis,
  ourNonAccessToken,
  unusableTokens,
} from "./revocation-fixtures.ts";

describe(`RFC 7009 revocation at ${ENDPOINT.revocation}`, () => {
  it("records the token's jti in its org's Durable Object, kept until its exp, before answering 200", async () => {
    const client = await registerTestClient();
    const token = await clientToken(client);
    const response = await revoke(token, client);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.text()).toBe("");
    // Read right after the answer: already there.
    const entries = await revokedJtis(client.orgId as string);
    expect(entries).toEqual([
      { value: jtiOf(token), expiresAt: (decodeJwt(token).exp as number) + CLOCK_TOLERANCE_SECONDS },
    ]);
    expect(await introspected(token, client)).toEqual({ active: false });
  });

  it("is audited as a recorded revocation naming the client", async () => {
    const client = await registerTestClient();
    const token = await clientToken(client);
    expect((await revoke(token, client)).status).toBe(200);
    await expect
      .poll(async () =>
        (
          await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE kind = 'revocation.recorded' AND org_id = ?")
            .bind(client.orgId)
            .all<{ detail: string }>()
        ).results.map((r) => JSON.parse(r.detail) as Record<string, unknown>),
      )
      .toEqual([
        expect.objectContaining({
          revocation_kind: "jti",
          value: jtiOf(token),
          reason: `rfc7009 by ${client.clientId}`,
        }),
      ]);
  });

  it("ignores token_type_hint, whatever it says (§2.1)", async () => {
    const client = await registerTestClient();
    for (const hint of ["refresh_token", "access_token", "nonsense"]) {
      const token = await clientToken(client);
      expect((await revoke(token, client, hint)).status).toBe(200);
      expect((await revokedJtis(client.orgId as string)).map((e) => e.value)).toContain(jtiOf(token));
    }
  });

  it("refuses another client's token with unauthorized_client, and it stays active", async () => {
    const owner = await registerTestClient();
    const other = await registerTestClient({ orgId: owner.orgId });
    const token = await clientToken(owner);
    await expectOAuthError(await revoke(token, other), 400, "unauthorized_client");
    expect(await revokedJtis(owner.orgId as string)).toEqual([]);
    expect(await introspected(token, owner)).toMatchObject({ active: true });
  });

  it("lets a resource server of the token's org revoke it, and no other org's", async () => {
    const owner = await registerTestClient();
    const server = await registerTestClient({ orgId: owner.orgId });
    const foreignServer = await registerTestClient();
    await makeResourceServer(server);
    await makeResourceServer(foreignServer);
    const token = await clientToken(owner);
    await expectOAuthError(await revoke(token, foreignServer), 400, "unauthorized_client");
    expect((await revoke(token, server)).status).toBe(200);
    expect((await revokedJtis(owner.orgId as string)).map((e) => e.value)).toEqual([jtiOf(token)]);
  });

  it("answers 200 for tokens that are invalid, expired, forged or not ours, recording nothing (§2.2)", async () => {
    const client = await registerTestClient();
    for (const token of await unusableTokens(client)) {
      expect((await revoke(token, client)).status).toBe(200);
    }
    expect(await revokedJtis(client.orgId as string)).toEqual([]);
  });

  it("refuses a JWT of ours that is not an access token with unsupported_token_type (§2.2.1)", async () => {
    const client = await registerTestClient();
    await expectOAuthError(await revoke(await ourNonAccessToken(client), client), 400, "unsupported_token_type");
  });

  // §2.2.1 answers by the token's type: an ID-JAG or a host invite is never revoked here, expired or not, while
  // an expired access token (the type revoked here) is §2.2's invalid token, 200 with nothing recorded.
  // Introspection (RFC 7662 §2.2) says only {"active": false} of all three.
  it("an expired ID-JAG or host invite of ours is still unsupported_token_type; an expired access token is 200", async () => {
    const client = await registerTestClient();
    const now = Math.floor(Date.now() / 1000);
    const expired = {
      ...(decodeJwt(await clientToken(client)) as Record<string, unknown>),
      iat: now - 600,
      exp: now - 300,
    };
    for (const typ of [JWT_TYP.idJag, JWT_TYP.hostInvite]) {
      const token = await signWithOurKey(typ, { ...expired, jti: crypto.randomUUID() });
      await expectOAuthError(await revoke(token, client), 400, "unsupported_token_type");
      expect(await introspected(token, client)).toEqual({ active: false });
    }
    const accessToken = await signWithOurKey(JWT_TYP.accessToken, { ...expired, jti: crypto.randomUUID() });
    expect((await revoke(accessToken, client)).status).toBe(200);
    expect(await introspected(accessToken, client)).toEqual({ active: false });
    expect(await revokedJtis(client.orgId as string)).toEqual([]);
  });
});
