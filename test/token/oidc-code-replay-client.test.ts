import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { Client } from "../support/runtime/browser-oidc.ts";
import { basicAuthorization } from "./clients-fixtures.ts";
import { active, authorized, type Person, refresh, revokedInOrg, tokens } from "./oidc-grant-fixtures.ts";
import { ISSUER, oidc } from "./oidc-fixture.ts";

// RFC 6749 §3.2.1: a confidential client authenticates at the token endpoint, and §4.1.3 the server ensures
// the code was issued to that client. Better Auth checks a code before the client, spending it and, for a
// code spent already, deleting what it yielded (§4.1.2) whoever sent it; so the authn Worker authenticates the
// client first (workers/authn/src/oidc/code-client-authentication.ts). A wrong, missing or foreign client's
// replay ends nothing; the code's own client's replay ends the grant (oidc-code-replay-grant.test.ts).

const INVALID_CLIENT_CHALLENGE = 'Basic realm="mono-auth"';

/** A token request with the given headers as they are (no client credentials added). */
function tokenRequest(fields: Record<string, string>, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`${ISSUER}${ENDPOINT.token}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 250) + 1}`,
        ...headers,
      },
      body: new URLSearchParams(fields),
    }),
  );
}

async function refusal(response: Response) {
  return {
    status: response.status,
    challenge: response.headers.get("WWW-Authenticate"),
    body: (await response.json()) as Record<string, unknown>,
  };
}

function invalidClient(description: string) {
  return {
    status: 401,
    challenge: INVALID_CLIENT_CHALLENGE,
    body: { error: "invalid_client", error_description: description },
  };
}

async function grantEntries(orgId: string): Promise<number> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((entry) => entry.kind === "grant").length;
}

/** A redeemed code of a confidential client (with offline_access): the fields to replay it, and what it yielded. */
async function redeemed() {
  const person = await oidc.signUp();
  const client = await oidc.browserClient();
  const fields = await authorized(person, client);
  const issued = await tokens(await oidc.tokenRequest(fields, client));
  return { person, client, fields, issued };
}

/** The grant lives on: its access token active and not cut off, its refresh token still refreshes, no entry. */
async function expectGrantAlive(person: Person, client: Client, accessToken: string, refreshToken: string) {
  expect(await active(accessToken, client)).toBe(true);
  expect(await revokedInOrg(accessToken)).toBe(false);
  expect(await grantEntries(person.orgId)).toBe(0);
  expect((await refresh(refreshToken, client)).status).toBe(200);
}

describe("RFC 6749 §3.2.1: a code's client is authenticated before its replay is acted on", () => {
  it("a replay with the wrong secret is 401 invalid_client (Basic challenge) and ends nothing", async () => {
    const { person, client, fields, issued } = await redeemed();
    const response = await tokenRequest(fields, { Authorization: basicAuthorization(client.clientId, "mas_wrong") });
    expect(await refusal(response)).toEqual(invalidClient("invalid client_secret"));
    await expectGrantAlive(person, client, issued.access_token, issued.refresh_token ?? "");
  });

  it("a replay naming the client with no secret is 401 invalid_client and ends nothing", async () => {
    const { person, client, fields, issued } = await redeemed();
    const response = await tokenRequest({ ...fields, client_id: client.clientId });
    expect(await refusal(response)).toEqual(invalidClient("client secret must be provided"));
    await expectGrantAlive(person, client, issued.access_token, issued.refresh_token ?? "");
  });

  it("a replay with no client at all is 400 invalid_request, as for a live code, and ends nothing", async () => {
    const { person, client, fields, issued } = await redeemed();
    const response = await tokenRequest(fields);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "invalid_request", error_description: "client_id is required" });
    await expectGrantAlive(person, client, issued.access_token, issued.refresh_token ?? "");
  });

  it("a replay with an unreadable Basic header, or the secret in the form against a Basic registration, is 401 invalid_client", async () => {
    const { person, client, fields, issued } = await redeemed();
    const garbled = await tokenRequest(fields, { Authorization: "Basic !!!" });
    expect(await refusal(garbled)).toEqual(invalidClient("invalid client credentials"));
    const posted = await tokenRequest({ ...fields, client_id: client.clientId, client_secret: client.clientSecret });
    expect(await refusal(posted)).toEqual(
      invalidClient("client registered for client_secret_basic cannot use client_secret_post"),
    );
    await expectGrantAlive(person, client, issued.access_token, issued.refresh_token ?? "");
  });

  it("another client, authenticated, replaying the code is 400 invalid_grant (§4.1.3) and ends nothing", async () => {
    const { person, client, fields, issued } = await redeemed();
    const stranger = await oidc.browserClient();
    const response = await oidc.tokenRequest(fields, stranger);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "invalid_grant", error_description: "invalid code" });
    await expectGrantAlive(person, client, issued.access_token, issued.refresh_token ?? "");
  });

  it("a wrong secret at the first redemption is 401 invalid_client and leaves the code for its client", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client);
    const wrong = await tokenRequest(fields, { Authorization: basicAuthorization(client.clientId, "mas_wrong") });
    expect(await refusal(wrong)).toEqual(invalidClient("invalid client_secret"));
    const issued = await tokens(await oidc.tokenRequest(fields, client));
    expect(await active(issued.access_token, client)).toBe(true);
  });

  it("the code's redemption and a wrong-secret replay fired at once: the wrong one is 401 and never ends the grant", async () => {
    for (let round = 0; round < 3; round++) {
      const person = await oidc.signUp();
      const client = await oidc.browserClient();
      const fields = await authorized(person, client);
      const [legit, wrong] = await Promise.all([
        oidc.tokenRequest(fields, client),
        tokenRequest(fields, { Authorization: basicAuthorization(client.clientId, "mas_wrong") }),
      ]);
      expect(await refusal(wrong)).toEqual(invalidClient("invalid client_secret"));
      const issued = await tokens(legit);
      await expectGrantAlive(person, client, issued.access_token, issued.refresh_token ?? "");
    }
  });
});

describe("public (PKCE) clients: no secret to authenticate, so the client_id the code was issued to replays it", () => {
  async function publicRedeemed() {
    const person = await oidc.signUp();
    const client = await oidc.browserClient({ type: "public" });
    const fields = { ...(await authorized(person, client)), client_id: client.clientId };
    const issued = await tokens(await oidc.tokenRequest(fields));
    return { person, client, fields, issued };
  }

  it("a replay naming the code's public client is 400 invalid_grant and ends the grant, as before", async () => {
    const { person, fields, issued } = await publicRedeemed();
    const response = await oidc.tokenRequest(fields);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe("invalid_grant");
    expect(await revokedInOrg(issued.access_token)).toBe(true);
    expect(await grantEntries(person.orgId)).toBe(1);
  });

  it("a replay naming another public client is 400 invalid_grant and ends nothing", async () => {
    const { person, fields, issued } = await publicRedeemed();
    const other = await oidc.browserClient({ type: "public" });
    const response = await oidc.tokenRequest({ ...fields, client_id: other.clientId });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "invalid_grant", error_description: "invalid code" });
    expect(await revokedInOrg(issued.access_token)).toBe(false);
    expect(await grantEntries(person.orgId)).toBe(0);
  });
});

describe("RFC 6749 §2.3, §5.2: two client authentication methods in one request are a malformed request", () => {
  it("HTTP Basic beside a client_secret or a client assertion is 400 invalid_request, and the code stays redeemable", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client);
    const basic = { Authorization: basicAuthorization(client.clientId, client.clientSecret) };
    const twoMethods = [
      { ...fields, client_secret: client.clientSecret },
      {
        ...fields,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: "e30.e30.sig",
      },
    ];
    for (const form of twoMethods) {
      expect(await refusal(await tokenRequest(form, basic))).toEqual({
        status: 400,
        challenge: null,
        body: {
          error: "invalid_request",
          error_description: "a request must use only one client authentication method",
        },
      });
    }
    const issued = await tokens(await oidc.tokenRequest(fields, client));
    expect(await active(issued.access_token, client)).toBe(true);
  });
});

describe("an empty Authorization header is no header, as Better Auth reads it", () => {
  it("a public client redeems its code with an empty Authorization header", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient({ type: "public" });
    const fields = { ...(await authorized(person, client)), client_id: client.clientId };
    const issued = await tokens(await tokenRequest(fields, { Authorization: "" }));
    expect(await revokedInOrg(issued.access_token)).toBe(false);
  });

  it("a public client's replay with an empty Authorization header still ends the grant (§4.1.2)", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient({ type: "public" });
    const fields = { ...(await authorized(person, client)), client_id: client.clientId };
    const issued = await tokens(await oidc.tokenRequest(fields));
    const replay = await tokenRequest(fields, { Authorization: "" });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toEqual({ error: "invalid_grant", error_description: "invalid code" });
    expect(await revokedInOrg(issued.access_token)).toBe(true);
    expect(await grantEntries(person.orgId)).toBe(1);
  });

  it("a confidential client's code with an empty Authorization header and no secret is 401 invalid_client, and stays redeemable", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client);
    const response = await tokenRequest({ ...fields, client_id: client.clientId }, { Authorization: "" });
    expect(await refusal(response)).toEqual(invalidClient("client secret must be provided"));
    expect((await oidc.tokenRequest(fields, client)).status).toBe(200);
  });
});

describe("RFC 6749 §4.1.3: a live code sent by another client is refused before it is spent", () => {
  const INVALID_CODE = {
    status: 400,
    challenge: null,
    body: { error: "invalid_grant", error_description: "invalid code" },
  };

  it("another confidential client, authenticated, is 400 invalid_grant; the code's own client then redeems it", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client);
    const stranger = await oidc.browserClient();
    expect(await refusal(await oidc.tokenRequest(fields, stranger))).toEqual(INVALID_CODE);
    const issued = await tokens(await oidc.tokenRequest(fields, client));
    expect(await active(issued.access_token, client)).toBe(true);
  });

  it("another public client's client_id, or an unknown one, is 400 invalid_grant; the code's own client then redeems it", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient({ type: "public" });
    const fields = { ...(await authorized(person, client)), client_id: client.clientId };
    const other = await oidc.browserClient({ type: "public" });
    for (const clientId of [other.clientId, "oidc_nobody"]) {
      expect(await refusal(await oidc.tokenRequest({ ...fields, client_id: clientId }))).toEqual(INVALID_CODE);
    }
    const issued = await tokens(await oidc.tokenRequest(fields));
    expect(await revokedInOrg(issued.access_token)).toBe(false);
  });

  it("the code's redemption and another client's request fired at once: the other is 400, the redemption 200", async () => {
    for (let round = 0; round < 3; round++) {
      const person = await oidc.signUp();
      const client = await oidc.browserClient();
      const stranger = await oidc.browserClient();
      const fields = await authorized(person, client);
      const [legit, foreign] = await Promise.all([
        oidc.tokenRequest(fields, client),
        oidc.tokenRequest(fields, stranger),
      ]);
      expect(await refusal(foreign)).toEqual(INVALID_CODE);
      const issued = await tokens(legit);
      await expectGrantAlive(person, client, issued.access_token, issued.refresh_token ?? "");
    }
  });
});
