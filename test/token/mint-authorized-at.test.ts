// A token's `iat` is the moment before the mint read what allowed it
// (workers/token/src/mint/mint-access-token.ts), so a cut-off recorded
// after the change (here: a client disabled) also covers a mint that read
// the client before the change and signed after the cut-off.
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { MAX_ID_JAG_LIFETIME_SECONDS } from "../../shared/contracts/tokens.ts";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { isTokenRevoked } from "../../shared/revocation/is-token-revoked.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import { signIdJag } from "../../workers/token/src/id-jag/sign-id-jag.ts";
import { adminRequest, adminToken } from "./admin-fixtures.ts";
import { mintedToken, registerTestClient, type TestClient } from "./clients-fixtures.ts";

async function mintFor(client: TestClient, authorizedAtMs: number) {
  return decodeJwt(await mintedToken(client, {}, authorizedAtMs)) as unknown as RevocableClaims & { exp: number };
}

describe("a minted token's iat", () => {
  it("is the moment its authorization was read, and its lifetime counts from there", async () => {
    const client = await registerTestClient();
    const authorizedAtMs = Date.UTC(2026, 10, 29, 12, 0, 0, 999);
    const claims = await mintFor(client, authorizedAtMs);
    expect(claims.iat).toBe(Math.floor(authorizedAtMs / 1000));
    expect(claims.exp - claims.iat).toBe(300);
  });

  it("is stamped the same way on an ID-JAG, whose lifetime counts from there too", async () => {
    const client = await registerTestClient();
    const config = tokenConfig(env);
    const authorizedAtMs = Date.UTC(2026, 10, 29, 12, 0, 0, 999);
    const { claims } = await signIdJag(
      keyStore(env, config),
      config.issuer,
      {
        subject: "user-1",
        audience: "https://as.example.com",
        clientId: client.clientId,
        orgId: client.orgId as string,
        scope: "documents:read",
        notAfter: Number.MAX_SAFE_INTEGER,
      },
      authorizedAtMs,
    );
    expect(claims.iat).toBe(Math.floor(authorizedAtMs / 1000));
    expect(claims.exp - claims.iat).toBe(MAX_ID_JAG_LIFETIME_SECONDS);
  });

  it("falls under a client cut-off recorded after the mint read the client, however late it signs", async () => {
    const client = await registerTestClient();
    const orgId = client.orgId as string;
    // The mint read the client (still active) a moment before it was disabled…
    const readBeforeDisable = Date.now() - 1500;
    const disabled = await adminRequest("POST", `/orgs/${orgId}/clients/${client.clientId}/disable`, {
      token: await adminToken(),
    });
    expect(disabled.status).toBe(200);
    // …and signs only now, after the cut-off: still cut off.
    const late = await mintFor(client, readBeforeDisable);
    const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
    expect(isTokenRevoked(snapshot, late)).toBe(true);
    // Stamped with a later moment (its signing, a second on), the same mint would have outlived the cut-off.
    const stampedAtSigning = await mintFor(client, Date.now() + 1500);
    expect(isTokenRevoked(snapshot, stampedAtSigning)).toBe(false);
  });
});
