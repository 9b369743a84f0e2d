import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import { recordRevocation } from "../../shared/revocation/record-revocation.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { operatorRotation } from "../../workers/token/src/keys/rotation.ts";
import { keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import { registerTestClient } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError } from "./fixtures.ts";
import {
  clientToken,
  introspect,
  introspected,
  makeResourceServer,
  managementRequest,
  mintedToken,
  revoke,
  signedByUs,
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

  it("is inactive, and says nothing else, once the token is revoked by jti, client, subject or org", async () => {
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
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: env.ISSUER,
      sub: client.clientId,
      aud: AUDIENCE,
      client_id: client.clientId,
      org_id: client.orgId,
      jti: crypto.randomUUID(),
    };
    const [header, payload] = (await clientToken(client)).split(".");
    for (const token of [
      await signedByUs({ ...claims, iat: now - 600, exp: now - 300 }),
      "garbage",
      `${header}.${payload}.${"A".repeat(86)}`,
      await signedByUs({ ...claims, iss: "https://elsewhere.example", iat: now, exp: now + 60 }),
      await signedByUs({ ...claims, aud: "https://not-served.example", iat: now, exp: now + 60 }),
      await signedByUs({ ...claims, iat: now, exp: now + 60 }, JWT_TYP.idJag),
    ]) {
      expect(await introspected(token, client)).toEqual(INACTIVE);
    }
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

  it("answers only authenticated clients (invalid_client, 401), and needs the token (invalid_request)", async () => {
    const client = await registerTestClient();
    const token = await clientToken(client);
    for (const credentials of [{ headers: {} }, { headers: {}, params: { client_id: "mono-auth-web" } }]) {
      await expectOAuthError(
        await managementRequest(ENDPOINT.introspection, { token }, credentials),
        401,
        "invalid_client",
      );
    }
    await expectOAuthError(await managementRequest(ENDPOINT.introspection, {}, { client }), 400, "invalid_request");
    const get = await exports.default.fetch(`http://localhost${ENDPOINT.introspection}`);
    expect(get.status).toBe(405);
    // A bad request is not an answer about the token either.
    expect((await introspect(token, { ...client, secret: "wrong" })).status).toBe(401);
  });

  it("is advertised with the methods that authenticate", async () => {
    const response = await exports.default.fetch(`http://localhost${ENDPOINT.authorizationServerMetadata}`);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata.introspection_endpoint).toBe(`${env.ISSUER}${ENDPOINT.introspection}`);
    expect(metadata.introspection_endpoint_auth_methods_supported).toEqual(
      metadata.revocation_endpoint_auth_methods_supported,
    );
    expect(metadata.introspection_endpoint_auth_methods_supported).not.toContain("none");
  });
});
