// RFC 6749 §4.1.3: a code is redeemed, or replayed, only by the client it was issued to. A
// `private_key_jwt` client's assertion is Better Auth's to verify (oidc/code-client-authentication.ts),
// and it does before it looks at the code; but any client verifies, and a Client ID Metadata Document
// client is anyone's to publish. So a replay whose assertion names another client than the code's is
// refused before Better Auth deletes what the code yielded (§4.1.2), and ends nothing; the code's own
// client's replay still ends its grant. The document client is served by the real host Worker
// (test/support/runtime/cimd-host, `/clients/private-key-jwt`).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BrowserGrantAnswer, OidcGrantsRpc } from "../../shared/contracts/oidc-grants.ts";
import { ASSERTING_CLIENT, clientAssertion } from "../support/runtime/cimd-host/assertion-signer.ts";
import {
  assertingClientCode,
  ISSUER,
  oidc,
  pkce,
  REDIRECT_URI,
  refreshGrant,
  type TokenResponse,
} from "./oidc-helpers.ts";

const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** The document client's assertion for this issuer (test/support/runtime/cimd-host/assertion-signer.ts). */
const assertion = (): Promise<string> => clientAssertion(ISSUER);

/** The token Worker's hand-over, whose answer names the grant it ended (`endedGrant`). */
function grant(form: Record<string, string>): Promise<BrowserGrantAnswer> {
  const grants = (exports as unknown as { OidcGrants: OidcGrantsRpc }).OidcGrants;
  return grants.grant({ form: new URLSearchParams(form).toString(), clientAddress: "198.51.100.7" });
}

const INVALID_CODE = { error: "invalid_grant", error_description: "invalid code" };

describe("a code replayed with a private_key_jwt assertion (RFC 6749 §4.1.3, RFC 7523 §2.2)", () => {
  /** A confidential client's redeemed code (with a refresh token), and what it yielded. */
  async function redeemed() {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(oidc.codeRequest(client.clientId, challenge), person.cookie);
    const code = back.searchParams.get("code") ?? "";
    const fields = { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const response = await oidc.tokenRequest(fields, client);
    expect(response.status).toBe(200);
    return { client, fields, tokens: (await response.json()) as TokenResponse };
  }

  it("another client's valid assertion replaying the code is 400 invalid_grant and ends nothing", async () => {
    const { client, fields, tokens } = await redeemed();
    const namings: Record<string, string>[] = [{ client_id: ASSERTING_CLIENT }, {}];
    for (const named of namings) {
      const answer = await grant({
        ...fields,
        ...named,
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await assertion(),
      });
      expect({ status: answer.status, body: JSON.parse(answer.body), ended: answer.endedGrant }).toEqual({
        status: 400,
        body: INVALID_CODE,
        ended: undefined,
      });
    }
    // Better Auth deleted nothing the code yielded: the refresh token still refreshes.
    expect((await refreshGrant(tokens.refresh_token ?? "", client)).status).toBe(200);
  });

  it("the code's own private_key_jwt client replaying it still ends its grant", async () => {
    const { person, fields: code } = await assertingClientCode();
    const fields = { ...code, client_id: ASSERTING_CLIENT, client_assertion_type: ASSERTION_TYPE };
    const first = await grant({ ...fields, client_assertion: await assertion() });
    expect(first.status, first.body).toBe(200);
    const replay = await grant({ ...fields, client_assertion: await assertion() });
    expect({ status: replay.status, body: JSON.parse(replay.body) }).toEqual({ status: 400, body: INVALID_CODE });
    expect(replay.endedGrant).toMatchObject({ clientId: ASSERTING_CLIENT, userId: person.userId, orgId: person.orgId });
  });
});

/** A confidential client's live code: its fields and the client. */
async function liveCode() {
  const person = await oidc.signUp();
  const client = await oidc.browserClient();
  const { verifier, challenge } = await pkce();
  const back = await oidc.authorizeAndConsent(oidc.codeRequest(client.clientId, challenge), person.cookie);
  const fields = {
    grant_type: "authorization_code",
    code: back.searchParams.get("code") ?? "",
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  };
  return { client, fields };
}

describe("a live code sent with another client's private_key_jwt assertion (RFC 6749 §4.1.3)", () => {
  it("is 400 invalid_grant before Better Auth spends it; the code's own client then redeems it", async () => {
    const { client, fields } = await liveCode();
    const foreign = await grant({
      ...fields,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(),
    });
    expect({ status: foreign.status, body: JSON.parse(foreign.body) }).toEqual({ status: 400, body: INVALID_CODE });
    expect((await oidc.tokenRequest(fields, client)).status).toBe(200);
  });
});

describe("the client's credentials as the token Worker hands them over (RFC 6749 §2.3, §3.2, §5.2)", () => {
  it("a credential sent twice is 400 invalid_request, and the code stays redeemable", async () => {
    const { client, fields } = await liveCode();
    const repeats: [string, string[][]][] = [
      [
        "client_id",
        [
          ["client_id", client.clientId],
          ["client_id", client.clientId],
        ],
      ],
      [
        "client_secret",
        [
          ["client_id", client.clientId],
          ["client_secret", "a"],
          ["client_secret", "b"],
        ],
      ],
      [
        "client_assertion",
        [
          ["client_assertion_type", ASSERTION_TYPE],
          ["client_assertion", "a"],
          ["client_assertion", "b"],
        ],
      ],
      [
        "client_assertion_type",
        [
          ["client_assertion_type", ASSERTION_TYPE],
          ["client_assertion_type", ASSERTION_TYPE],
        ],
      ],
    ];
    const grants = (exports as unknown as { OidcGrants: OidcGrantsRpc }).OidcGrants;
    for (const [name, credentials] of repeats) {
      const form = new URLSearchParams([...Object.entries(fields), ...credentials]).toString();
      const answer = await grants.grant({ form, clientAddress: "198.51.100.7" });
      expect({ status: answer.status, body: JSON.parse(answer.body) }).toEqual({
        status: 400,
        body: { error: "invalid_request", error_description: `${name} must not be repeated` },
      });
    }
    expect((await oidc.tokenRequest(fields, client)).status).toBe(200);
  });

  it("an empty Authorization header is none: a public client's code is redeemed", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient({ type: "public" });
    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(oidc.codeRequest(client.clientId, challenge), person.cookie);
    const grants = (exports as unknown as { OidcGrants: OidcGrantsRpc }).OidcGrants;
    const answer = await grants.grant({
      form: new URLSearchParams({
        grant_type: "authorization_code",
        code: back.searchParams.get("code") ?? "",
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        client_id: client.clientId,
      }).toString(),
      authorization: "",
      clientAddress: "198.51.100.7",
    });
    expect(answer.status, answer.body).toBe(200);
    expect((JSON.parse(answer.body) as TokenResponse).access_token).toEqual(expect.any(String));
  });
});
