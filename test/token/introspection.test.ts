import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { CLOCK_TOLERANCE_SECONDS } from "../../shared/contracts/tokens.ts";
import { recordRevocation } from "../../shared/revocation/record-revocation.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { operatorRotation } from "../../workers/token/src/keys/rotation.ts";
import { keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import { registerTestClient, clientToken, mintedToken } from "./clients-fixtures.ts";
import { AUDIENCE } from "./fixtures.ts";
import {
  introspected,
  jtiOf,
  makeResourceServer,
  ourNonAccessToken,
  revoke,
  revokedJtis,
  unusableTokens,
} from "./revocation-fixtures.ts";

const INACTIVE = { active: false };

describe(`RFC 7662 introspection at ${ENDPOINT.introspection}`, () => {
  it("describes an active token of the caller with the §2.2 members, and nothing it need not say", async () => {
    const client = await registerTestClient();
    const token = await clientToken(client);
    const claims = decodeJwt(token);
    expect(await introspected(token, client)).toEqual({
      active: true,
      iss: env.ISSUER,
      sub: client.clientId,
      aud: AUDIENCE,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      client_id: client.clientId,
      scope: "documents:read",
      token_type: "Bearer",
      org_id: client.orgId,
    });
  });

  it("says DPoP and the key's thumbprint for a bound token, and who acts for a delegated one", async () => {
    const client = await registerTestClient();
    const actor = { sub: "mac_agent", client_id: "mac_agent", act: { sub: "mac_host" } };
    const token = await mintedToken(client, { confirmation: { jkt: "thumbprint-1" }, actor, subject: "user-1" });
    expect(await introspected(token, client)).toMatchObject({
      active: true,
      sub: "user-1",
      token_type: "DPoP",
      cnf: { jkt: "thumbprint-1" },
      act: actor,
    });
  });

  it("is inactive, and says nothing else, once the token is revoked by jti, client (its own or along its act chain), subject or org", async () => {
    const client = await registerTestClient();
    const byJti = await clientToken(client);
    expect((await revoke(byJti, client)).status).toBe(200);
    expect(await introspected(byJti, client)).toEqual(INACTIVE);

    for (const kind of ["client", "subject", "org"] as const) {
      const owner = await registerTestClient();
      const token = await clientToken(owner);
      expect(await introspected(token, owner)).toMatchObject({ active: true });
      const value = kind === "org" ? (owner.orgId as string) : owner.clientId;
      await recordRevocation(env, { orgId: owner.orgId as string, kind, value, reason: "test" });
      expect(await introspected(token, owner)).toEqual(INACTIVE);
    }

    // A client cut-off reaches every client along the token's act chain.
    const delegating = await registerTestClient();
    const earlier = `mac_${crypto.randomUUID()}`;
    const delegated = await mintedToken(delegating, {
      subject: "user-1",
      actor: { sub: delegating.clientId, client_id: delegating.clientId, act: { sub: earlier, client_id: earlier } },
    });
    expect(await introspected(delegated, delegating)).toMatchObject({ active: true });
    await recordRevocation(env, { orgId: delegating.orgId as string, kind: "client", value: earlier, reason: "test" });
    expect(await introspected(delegated, delegating)).toEqual(INACTIVE);
  });

  it("is inactive for another client's token, active for a resource server of its org, inactive for one of another org", async () => {
    const owner = await registerTestClient();
    const sibling = await registerTestClient({ orgId: owner.orgId });
    const server = await registerTestClient({ orgId: owner.orgId });
    const foreignServer = await registerTestClient();
    await makeResourceServer(server);
    await makeResourceServer(foreignServer);
    const token = await clientToken(owner);
    expect(await introspected(token, sibling)).toEqual(INACTIVE);
    expect(await introspected(token, foreignServer)).toEqual(INACTIVE);
    expect(await introspected(token, server)).toMatchObject({ active: true, client_id: owner.clientId });
  });

  it("is inactive for expired, malformed, forged, foreign and non-access tokens", async () => {
    const client = await registerTestClient();
    for (const token of [...(await unusableTokens(client)), await ourNonAccessToken(client)]) {
      expect(await introspected(token, client)).toEqual(INACTIVE);
    }
  });

  it("is inactive the moment exp passes: verification's clock tolerance does not apply here (§2.2)", async () => {
    const client = await registerTestClient();
    // Minted as if authorized 62 s ago for a minute: expired 2 s ago, within
    // CLOCK_TOLERANCE_SECONDS of its exp.
    const now = Math.floor(Date.now() / 1000);
    const expired = await mintedToken(client, { ttlSeconds: 60 }, (now - 62) * 1000);
    expect(decodeJwt(expired).exp).toBe(now - 2);
    expect(await introspected(expired, client)).toEqual(INACTIVE);
    // Revocation keeps the tolerance (a gateway whose clock is behind still honours it): recorded.
    expect((await revoke(expired, client)).status).toBe(200);
    expect(await revokedJtis(client.orgId as string)).toEqual([
      { value: jtiOf(expired), expiresAt: now - 2 + CLOCK_TOLERANCE_SECONDS },
    ]);
  });

  it("is inactive at once for a token whose signing key an emergency rotation retired", async () => {
    const client = await registerTestClient();
    const token = await clientToken(client);
    expect(await introspected(token, client)).toMatchObject({ active: true });
    await operatorRotation(keyStore(env, tokenConfig(env)), { emergency: true });
    expect(await introspected(token, client)).toEqual(INACTIVE);
    // Tokens minted after it are signed by the promoted key and are active.
    expect(await introspected(await clientToken(client), client)).toMatchObject({ active: true });
  });
});
