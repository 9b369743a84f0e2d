// POST ENDPOINT.hostBootstrap in the token Worker's runtime: a host redeems
// its invite with a proof of possession and becomes a private_key_jwt
// client; every refusal with its exact code; 1000 concurrent redemptions of
// one invite make exactly one client.
import { env, exports } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { base64url, decodeJwt, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { CLIENT_ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE, JWT_TYP } from "../../shared/contracts/tokens.ts";
import { organization } from "../../shared/db/schema.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { createInvite, type InviteRequest } from "../../workers/token/src/invites/create-invite.ts";
import { signInvite } from "../../workers/token/src/invites/invite-token.ts";
import { freshClientAddress, tokenRequest } from "./fixtures.ts";
import {
  hostKey,
  inviteClaims,
  issuer,
  issuerKeys,
  possessionProof,
  signWithIssuerKey,
  type TestHostKey,
} from "./invite-fixtures.ts";

const AUDIENCE = env.ALLOWED_AUDIENCES.split(" ")[0] as string;

async function seedOrg(): Promise<string> {
  const id = `org-${crypto.randomUUID()}`;
  await drizzle(env.DB).insert(organization).values({ id, name: "Hosts", slug: id, createdAt: new Date() });
  return id;
}

async function invite(overrides: Partial<InviteRequest> = {}) {
  const orgId = overrides.orgId ?? (await seedOrg());
  return createInvite(env, tokenConfig(env), {
    orgId,
    labels: { role: "web" },
    scopes: ["documents:read"],
    audiences: [AUDIENCE],
    ttlSeconds: 3600,
    dpopBoundAccessTokens: false,
    createdBy: "mac_operator",
    ...overrides,
  });
}

function bootstrap(body: unknown, init: { contentType?: string; method?: string } = {}): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://localhost${ENDPOINT.hostBootstrap}`, {
      method: init.method ?? "POST",
      headers: { "Content-Type": init.contentType ?? "application/json", "cf-connecting-ip": freshClientAddress() },
      ...(init.method === "GET" ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    }),
  );
}

async function redeem(inviteJwt: string, key?: TestHostKey): Promise<Response> {
  const hostKeyPair = key ?? (await hostKey());
  return bootstrap({ invite: inviteJwt, proof: await possessionProof(hostKeyPair, inviteJwt) });
}

async function expectRefusal(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe(code);
  expect(typeof body.error_description).toBe("string");
}

interface ClientRow {
  client_id: string;
  org_id: string;
  type: string;
  auth_method: string;
  secret_hash: string | null;
  jwks: string;
  grant_types: string;
  scopes: string;
  audiences: string;
  status: string;
}

const clientsOf = async (orgId: string) =>
  (await env.DB.prepare("SELECT * FROM oauth_client WHERE org_id = ?").bind(orgId).all<ClientRow>()).results;

const inviteRow = (jti: string) =>
  env.DB.prepare("SELECT redeemed_at, client_id FROM host_invite WHERE jti = ?")
    .bind(jti)
    .first<{ redeemed_at: number | null; client_id: string | null }>();

describe("host bootstrap", () => {
  it("is advertised in the metadata", async () => {
    const response = await exports.default.fetch(`http://localhost${ENDPOINT.authorizationServerMetadata}`);
    expect(await response.json()).toMatchObject({ host_bootstrap_endpoint: `${issuer}${ENDPOINT.hostBootstrap}` });
  });

  it("redeems an invite: a private_key_jwt machine client of the invite's org with its scopes, audiences and the host's key", async () => {
    const { invite: jwt, claims } = await invite({ scopes: ["documents:read"] });
    const key = await hostKey();
    const response = await redeem(jwt, key);
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      org_id: claims.org_id,
      issuer,
      token_endpoint: `${issuer}${ENDPOINT.token}`,
      token_endpoint_auth_method: "private_key_jwt",
      grant_types: ["client_credentials"],
      scope: "documents:read",
      audiences: [AUDIENCE],
    });
    expect(body.client_id).toMatch(/^mac_[A-Za-z0-9_-]{22,}$/);

    const [client, ...others] = await clientsOf(claims.org_id);
    expect(others).toEqual([]);
    expect(client).toMatchObject({
      client_id: body.client_id,
      type: "machine",
      auth_method: "private_key_jwt",
      secret_hash: null,
      grant_types: "client_credentials",
      scopes: "documents:read",
      audiences: AUDIENCE,
      status: "active",
    });
    const jwks = JSON.parse(client?.jwks ?? "{}") as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toEqual([{ ...key.publicJwk, kid: body.kid, alg: "ES256", use: "sig" }]);
    expect(await inviteRow(claims.jti)).toMatchObject({ client_id: body.client_id });
    expect((await inviteRow(claims.jti))?.redeemed_at).toEqual(expect.any(Number));
  });

  it("makes a client that authenticates with the host's key (RFC 7523) and gets tokens for the invite's org", async () => {
    const { invite: jwt, claims } = await invite({ scopes: ["documents:read"] });
    const key = await hostKey();
    const registered = (await (await redeem(jwt, key)).json()) as { client_id: string; kid: string };
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: key.alg, kid: registered.kid })
      .setIssuer(registered.client_id)
      .setSubject(registered.client_id)
      .setAudience(issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(key.privateKey);
    const response = await tokenRequest({
      grant_type: GRANT_TYPE.clientCredentials,
      client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
      client_assertion: assertion,
    });
    expect(response.status).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    expect(decodeJwt(access_token)).toMatchObject({
      sub: registered.client_id,
      client_id: registered.client_id,
      org_id: claims.org_id,
      scope: "documents:read",
      aud: AUDIENCE,
    });
  });

  it("refuses a second redemption with invite_already_used, whatever key the second host brings", async () => {
    const { invite: jwt, claims } = await invite();
    expect((await redeem(jwt)).status).toBe(201);
    await expectRefusal(await redeem(jwt), 409, "invite_already_used");
    expect(await clientsOf(claims.org_id)).toHaveLength(1);
  });

  it("refuses an expired invite with invite_expired", async () => {
    const orgId = await seedOrg();
    const now = Math.floor(Date.now() / 1000);
    const jwt = await signInvite(issuerKeys(), inviteClaims({ org_id: orgId, iat: now - 120, exp: now - 60 }));
    await expectRefusal(await redeem(jwt), 400, "invite_expired");
    expect(await clientsOf(orgId)).toEqual([]);
  });

  it("refuses a tampered invite with invite_invalid, and creates nothing", async () => {
    const { invite: jwt, claims } = await invite();
    // The same invite asking for one more scope, under the original signature.
    const [header, payload, signature] = jwt.split(".") as [string, string, string];
    const forged = {
      ...JSON.parse(new TextDecoder().decode(base64url.decode(payload))),
      scope: "documents:read admin",
    };
    const tampered = `${header}.${base64url.encode(JSON.stringify(forged))}.${signature}`;
    await expectRefusal(await redeem(tampered), 400, "invite_invalid");
    expect(await clientsOf(claims.org_id)).toEqual([]);
    expect((await inviteRow(claims.jti))?.redeemed_at).toBeNull();
  });

  it("refuses a token of another type or for another audience with invite_invalid", async () => {
    const wrongTyp = await signWithIssuerKey({ ...inviteClaims() }, { typ: JWT_TYP.accessToken });
    await expectRefusal(await redeem(wrongTyp), 400, "invite_invalid");
    const wrongAud = await signInvite(issuerKeys(), inviteClaims({ aud: `${issuer}${ENDPOINT.token}` }));
    await expectRefusal(await redeem(wrongAud), 400, "invite_invalid");
  });

  it("refuses an invite whose org was deleted since with invite_invalid, and creates nothing", async () => {
    const { invite: jwt, claims } = await invite();
    await env.DB.prepare("DELETE FROM organization WHERE id = ?").bind(claims.org_id).run();
    await expectRefusal(await redeem(jwt), 400, "invite_invalid");
    expect(await clientsOf(claims.org_id)).toEqual([]);
    expect((await inviteRow(claims.jti))?.redeemed_at).toBeNull();
  });

  it("refuses a well-signed invite that was never issued (no row) with invite_invalid", async () => {
    const jwt = await signInvite(issuerKeys(), inviteClaims());
    await expectRefusal(await redeem(jwt), 400, "invite_invalid");
  });

  it("refuses a bad proof with invalid_proof without spending the invite, which then redeems", async () => {
    const { invite: jwt, claims } = await invite();
    const key = await hostKey();
    const other = await hostKey();
    const forged = await possessionProof(key, jwt, { signer: other.privateKey });
    await expectRefusal(await bootstrap({ invite: jwt, proof: forged }), 400, "invalid_proof");
    const otherInvite = await possessionProof(key, "another.invite.jwt");
    await expectRefusal(await bootstrap({ invite: jwt, proof: otherInvite }), 400, "invalid_proof");
    expect((await inviteRow(claims.jti))?.redeemed_at).toBeNull();
    expect((await redeem(jwt, key)).status).toBe(201);
  });

  it("refuses a key that may not be registered with invalid_key", async () => {
    const { invite: jwt } = await invite();
    const weak = await hostKey("RS256", 1024);
    await expectRefusal(await redeem(jwt, weak), 400, "invalid_key");
  });

  it("refuses what is not a bootstrap request with invalid_request", async () => {
    const { invite: jwt } = await invite();
    await expectRefusal(await bootstrap("not json"), 400, "invalid_request");
    await expectRefusal(await bootstrap({ invite: jwt }), 400, "invalid_request");
    await expectRefusal(await bootstrap(["a", "b"]), 400, "invalid_request");
    await expectRefusal(
      await bootstrap(new URLSearchParams({ invite: jwt, proof: "p" }).toString(), {
        contentType: "application/x-www-form-urlencoded",
      }),
      400,
      "invalid_request",
    );
    const wrongMethod = await bootstrap(undefined, { method: "GET" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("Allow")).toBe("POST");
  });

  it("audits a redemption and a refusal against the invite's org", async () => {
    const { invite: jwt, claims } = await invite();
    const response = await redeem(jwt);
    const { client_id } = (await response.json()) as { client_id: string };
    await redeem(jwt);
    await expect
      .poll(async () => {
        const { results } = await env.AUDIT_DB.prepare(
          "SELECT kind, outcome, client_id, detail FROM audit_event WHERE org_id = ? ORDER BY occurred_at",
        )
          .bind(claims.org_id)
          .all<{ kind: string; outcome: string; client_id: string | null; detail: string }>();
        return results.map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
      })
      .toEqual([
        {
          kind: "host_invite.redeemed",
          outcome: "issued",
          client_id,
          detail: expect.objectContaining({ jti: claims.jti, path: ENDPOINT.hostBootstrap }),
        },
        {
          kind: "host_invite.refused",
          outcome: "refused",
          client_id: null,
          detail: expect.objectContaining({ jti: claims.jti, error: "invite_already_used", status: 409 }),
        },
      ]);
  });

  it("lets exactly one of 1000 concurrent redemptions of one invite win: one client, 999 invite_already_used", async () => {
    const { invite: jwt, claims } = await invite();
    const key = await hostKey();
    const proofs = await Promise.all(Array.from({ length: 1000 }, () => possessionProof(key, jwt)));
    const responses = await Promise.all(proofs.map((proof) => bootstrap({ invite: jwt, proof })));
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ client_id?: string; error?: string }>));
    const won = bodies.filter((_, i) => responses[i]?.status === 201);
    const lost = bodies.filter((_, i) => responses[i]?.status === 409);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(999);
    expect(new Set(lost.map((b) => b.error))).toEqual(new Set(["invite_already_used"]));
    const clients = await clientsOf(claims.org_id);
    expect(clients.map((c) => c.client_id)).toEqual([won[0]?.client_id]);
    expect(await inviteRow(claims.jti)).toMatchObject({ client_id: won[0]?.client_id });
  }, 120_000);
});
