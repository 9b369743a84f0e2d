// Host invites that ask for DPoP-bound credentials (RFC 9449 §5.2
// `dpop_bound_access_tokens`, workers/token/src/admin/invites.ts): the
// choice is stored with the invite, listed, signed into it for the host to
// read, and copied into the redeemed client's `require_dpop`, so the host
// gets no token without a proof and every token it gets is bound.
import { env, exports } from "cloudflare:workers";
import { decodeJwt, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import type { InviteView } from "../../shared/contracts/host-invites.ts";
import { CLIENT_ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { HostBootstrapError } from "../../workers/token/src/invites/errors.ts";
import { signInvite, verifyInvite } from "../../workers/token/src/invites/invite-token.ts";
import { databaseKeyResolver } from "../../workers/token/src/keys/database-key-resolver.ts";
import { dpopKey, dpopProof } from "../support/runtime/dpop-proof.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { expectOAuthError, freshClientAddress, tokenRequest } from "./fixtures.ts";
import { hostKey, inviteClaims, issuer, issuerKeys, possessionProof, type TestHostKey } from "./invite-fixtures.ts";

/** What a host signs its DPoP proofs for: the token endpoint as the metadata advertises it. */
const HTU = `${env.ISSUER}${ENDPOINT.token}`;

interface CreatedInvite {
  invite: string;
  jti: string;
  dpop_bound_access_tokens: boolean;
}

interface RegisteredHost {
  client_id: string;
  kid: string;
  dpop_bound_access_tokens: boolean;
}

async function createInvite(orgId: string, extra: Record<string, unknown>, token?: string): Promise<Response> {
  return adminRequest("POST", `/orgs/${orgId}/invites`, {
    token: token ?? (await adminToken()),
    body: { scopes: ["documents:read"], ttl_seconds: 600, ...extra },
  });
}

async function redeem(invite: string, key: TestHostKey): Promise<RegisteredHost> {
  const response = await exports.default.fetch(
    new Request(`http://localhost${ENDPOINT.hostBootstrap}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "cf-connecting-ip": freshClientAddress() },
      body: JSON.stringify({ invite, proof: await possessionProof(key, invite) }),
    }),
  );
  expect(response.status).toBe(201);
  return (await response.json()) as RegisteredHost;
}

/** RFC 7523 §2.2: the host's client assertion, signed with the key it registered; a fresh jti each time. */
async function clientAssertion(host: RegisteredHost, key: TestHostKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: key.alg, kid: host.kid })
    .setIssuer(host.client_id)
    .setSubject(host.client_id)
    .setAudience(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(key.privateKey);
}

async function hostTokenRequest(host: RegisteredHost, key: TestHostKey, dpop?: string): Promise<Response> {
  return tokenRequest(
    {
      grant_type: GRANT_TYPE.clientCredentials,
      client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
      client_assertion: await clientAssertion(host, key),
    },
    dpop === undefined ? {} : { headers: { [DPOP_HEADER.proof]: dpop } },
  );
}

const storedInvite = (jti: string) =>
  env.DB.prepare("SELECT require_dpop FROM host_invite WHERE jti = ?").bind(jti).first<{ require_dpop: number }>();

const storedClient = (clientId: string) =>
  env.DB.prepare("SELECT require_dpop FROM oauth_client WHERE client_id = ?")
    .bind(clientId)
    .first<{ require_dpop: number }>();

async function listed(orgId: string, jti: string): Promise<InviteView | undefined> {
  const response = await adminRequest("GET", `/orgs/${orgId}/invites`, { token: await adminToken() });
  expect(response.status).toBe(200);
  return ((await response.json()) as { invites: InviteView[] }).invites.find((i) => i.jti === jti);
}

describe("host invites with dpop_bound_access_tokens (RFC 9449 §5.2)", () => {
  it("true: stored with the invite, listed, in the invite's claims, and its host's client requires DPoP", async () => {
    const orgId = await createTestOrg();
    const response = await createInvite(orgId, { dpop_bound_access_tokens: true });
    expect(response.status).toBe(201);
    const created = (await response.json()) as CreatedInvite;
    expect(created.dpop_bound_access_tokens).toBe(true);
    expect(await storedInvite(created.jti)).toEqual({ require_dpop: 1 });
    expect(await listed(orgId, created.jti)).toMatchObject({ state: "pending", dpop_bound_access_tokens: true });
    const claims = await verifyInvite(created.invite, { issuer, resolveKey: databaseKeyResolver(env.DB) });
    expect(claims.dpop_bound_access_tokens).toBe(true);

    const host = await redeem(created.invite, await hostKey());
    expect(host.dpop_bound_access_tokens).toBe(true);
    expect(await storedClient(host.client_id)).toEqual({ require_dpop: 1 });
    expect(await listed(orgId, created.jti)).toMatchObject({ state: "redeemed", dpop_bound_access_tokens: true });
  });

  it("the bound host is refused a token without a proof (400 invalid_dpop_proof, ERR_DPOP_MISSING); with one, a DPoP token bound to its key", async () => {
    const created = (await (
      await createInvite(await createTestOrg(), { dpop_bound_access_tokens: true })
    ).json()) as CreatedInvite;
    const key = await hostKey();
    const host = await redeem(created.invite, key);

    const refused = await expectOAuthError(await hostTokenRequest(host, key), 400, "invalid_dpop_proof");
    expect(refused.error_description.startsWith("ERR_DPOP_MISSING:")).toBe(true);

    // §8: the first proof learns the nonce (DPOP_NONCE_REQUIRED is on, as in production).
    const proofKey = await dpopKey();
    const first = await hostTokenRequest(host, key, await dpopProof(proofKey, { htm: "POST", htu: HTU }));
    const nonceRefusal = await expectOAuthError(first, 400, "use_dpop_nonce");
    expect(nonceRefusal.error_description.startsWith("ERR_DPOP_NONCE:")).toBe(true);
    const nonce = first.headers.get(DPOP_HEADER.nonce) as string;
    expect(nonce).toBeTruthy();

    const granted = await hostTokenRequest(host, key, await dpopProof(proofKey, { htm: "POST", htu: HTU, nonce }));
    expect(granted.status).toBe(200);
    const body = (await granted.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe("DPoP");
    expect(decodeJwt(body.access_token)).toMatchObject({ sub: host.client_id, cnf: { jkt: proofKey.jkt } });
  });

  it("absent or false: an unbound host, as before, that gets bearer tokens", async () => {
    const orgId = await createTestOrg();
    for (const extra of [{}, { dpop_bound_access_tokens: false }]) {
      const response = await createInvite(orgId, extra);
      expect(response.status).toBe(201);
      const created = (await response.json()) as CreatedInvite;
      expect(created.dpop_bound_access_tokens).toBe(false);
      expect(await storedInvite(created.jti)).toEqual({ require_dpop: 0 });
      expect(await listed(orgId, created.jti)).toMatchObject({ dpop_bound_access_tokens: false });
      const key = await hostKey();
      const host = await redeem(created.invite, key);
      expect(host.dpop_bound_access_tokens).toBe(false);
      expect(await storedClient(host.client_id)).toEqual({ require_dpop: 0 });
      const granted = await hostTokenRequest(host, key);
      expect(granted.status).toBe(200);
      const body = (await granted.json()) as { access_token: string; token_type: string };
      expect(body.token_type).toBe("Bearer");
      expect(decodeJwt(body.access_token).cnf).toBeUndefined();
    }
  });

  it("400 invalid_body for a dpop_bound_access_tokens that is not true or false, and nothing is stored", async () => {
    const orgId = await createTestOrg();
    const token = await adminToken();
    for (const value of ["true", 1, 0, null, "yes", [], {}]) {
      const body = await expectHttpError(
        await createInvite(orgId, { dpop_bound_access_tokens: value }, token),
        400,
        "invalid_body",
      );
      expect(body.detail, JSON.stringify(value)).toMatch(/^dpop_bound_access_tokens: /);
    }
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM host_invite WHERE org_id = ?")
      .bind(orgId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("an invite whose dpop_bound_access_tokens claim is not a boolean is not one of ours (invite_invalid)", async () => {
    const forged = await signInvite(issuerKeys(), {
      ...inviteClaims(),
      dpop_bound_access_tokens: "yes" as unknown as boolean,
    });
    const verified = verifyInvite(forged, { issuer, resolveKey: databaseKeyResolver(env.DB) });
    await expect(verified).rejects.toBeInstanceOf(HostBootstrapError);
    await expect(verified).rejects.toMatchObject({ code: "invite_invalid", status: 400 });
  });
});
