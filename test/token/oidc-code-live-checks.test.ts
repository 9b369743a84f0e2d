import { describe, expect, it } from "vitest";
import { type Client, pkce, REDIRECT_URI } from "../support/runtime/browser-oidc.ts";
import { active, authorized, revokedInOrg, tokens } from "./oidc-grant-fixtures.ts";
import { oidc } from "./oidc-fixture.ts";

// RFC 6749 §4.1.3 and RFC 7636 §4.6: a code's redemption must carry the redirect_uri it was issued for and the
// code_verifier of its challenge. Better Auth spends the code before it compares either, so anyone holding a
// public client's code and its client_id could burn it and fail the person's sign-in; the authn Worker
// compares them first (workers/authn/src/oidc/live-code-checks.ts) and answers as Better Auth would, leaving
// the code for the right request.

const CODE_VERIFICATION_FAILED = { error: "invalid_grant", error_description: "code verification failed" };
const REDIRECT_URI_MISMATCH = { error: "invalid_grant", error_description: "redirect_uri mismatch" };
const REDIRECT_URI_REQUIRED = { error: "invalid_request", error_description: "redirect_uri is required" };

async function answer(response: Response) {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A public (PKCE) client's live code: the fields of its right redemption, which name the client. */
async function publicCode() {
  const person = await oidc.signUp();
  const client = await oidc.browserClient({ type: "public" });
  return { client, fields: { ...(await authorized(person, client)), client_id: client.clientId } };
}

/** A confidential client's live code (client_secret_basic, PKCE too). */
async function confidentialCode() {
  const person = await oidc.signUp();
  const client = await oidc.browserClient();
  return { client, fields: await authorized(person, client) };
}

async function wrongVerifier(): Promise<string> {
  return (await pkce()).verifier;
}

/** The right request still redeems the code: tokens, active and not cut off. */
async function expectRedeemable(fields: Record<string, string>, client: Client, basic: boolean) {
  const issued = await tokens(await oidc.tokenRequest(fields, basic ? client : undefined));
  // Introspection (RFC 7662) is for a client that can authenticate: a public one's token is checked where
  // every verifier checks it, at the org's object.
  if (basic) expect(await active(issued.access_token, client)).toBe(true);
  expect(await revokedInOrg(issued.access_token)).toBe(false);
}

function without(fields: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => key !== name));
}

describe("RFC 7636 §4.6: a wrong or missing code_verifier is refused and the code stays live", () => {
  it("public client, wrong verifier: 400 invalid_grant 'code verification failed', then the right one redeems", async () => {
    const { client, fields } = await publicCode();
    const wrong = await oidc.tokenRequest({ ...fields, code_verifier: await wrongVerifier() });
    expect(await answer(wrong)).toEqual({ status: 400, body: CODE_VERIFICATION_FAILED });
    await expectRedeemable(fields, client, false);
  });

  it("public client, no verifier: 400 invalid_request (Better Auth's, before it reads the code), then the right one redeems", async () => {
    const { client, fields } = await publicCode();
    const missing = await oidc.tokenRequest(without(fields, "code_verifier"));
    expect(await answer(missing)).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: "Either code_verifier or client_secret is required" },
    });
    await expectRedeemable(fields, client, false);
  });

  it("confidential client, wrong verifier: 400 invalid_grant 'code verification failed', then the right one redeems", async () => {
    const { client, fields } = await confidentialCode();
    const wrong = await oidc.tokenRequest({ ...fields, code_verifier: await wrongVerifier() }, client);
    expect(await answer(wrong)).toEqual({ status: 400, body: CODE_VERIFICATION_FAILED });
    await expectRedeemable(fields, client, true);
  });

  it("confidential client, no verifier: 400 invalid_request 'PKCE is required for this client', then the right one redeems", async () => {
    const { client, fields } = await confidentialCode();
    const missing = await oidc.tokenRequest(without(fields, "code_verifier"), client);
    expect(await answer(missing)).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: "PKCE is required for this client" },
    });
    await expectRedeemable(fields, client, true);
  });

  it("a verifier that is the challenge itself (a `plain` guess) is refused the same way", async () => {
    const { client, fields } = await publicCode();
    const { challenge } = await pkce();
    const plain = await oidc.tokenRequest({ ...fields, code_verifier: challenge });
    expect(await answer(plain)).toEqual({ status: 400, body: CODE_VERIFICATION_FAILED });
    await expectRedeemable(fields, client, false);
  });
});

describe("RFC 6749 §4.1.3: a redirect_uri other than the code's is refused and the code stays live", () => {
  it("public client, another redirect_uri: 400 invalid_grant 'redirect_uri mismatch', then the right one redeems", async () => {
    const { client, fields } = await publicCode();
    for (const redirectUri of ["https://rp.example.test/other", `${REDIRECT_URI}/`, `${REDIRECT_URI}?x=1`]) {
      const wrong = await oidc.tokenRequest({ ...fields, redirect_uri: redirectUri });
      expect(await answer(wrong)).toEqual({ status: 400, body: REDIRECT_URI_MISMATCH });
    }
    await expectRedeemable(fields, client, false);
  });

  it("public client, no redirect_uri: 400 invalid_request 'redirect_uri is required', then the right one redeems", async () => {
    const { client, fields } = await publicCode();
    const missing = await oidc.tokenRequest(without(fields, "redirect_uri"));
    expect(await answer(missing)).toEqual({ status: 400, body: REDIRECT_URI_REQUIRED });
    await expectRedeemable(fields, client, false);
  });

  it("confidential client, another or no redirect_uri: Better Auth's answers, then the right one redeems", async () => {
    const { client, fields } = await confidentialCode();
    const wrong = await oidc.tokenRequest({ ...fields, redirect_uri: "https://rp.example.test/other" }, client);
    expect(await answer(wrong)).toEqual({ status: 400, body: REDIRECT_URI_MISMATCH });
    const missing = await oidc.tokenRequest(without(fields, "redirect_uri"), client);
    expect(await answer(missing)).toEqual({ status: 400, body: REDIRECT_URI_REQUIRED });
    await expectRedeemable(fields, client, true);
  });

  it("a redirect_uri mismatch is answered before a wrong verifier, as Better Auth orders them", async () => {
    const { client, fields } = await publicCode();
    const both = await oidc.tokenRequest({
      ...fields,
      redirect_uri: "https://rp.example.test/other",
      code_verifier: await wrongVerifier(),
    });
    expect(await answer(both)).toEqual({ status: 400, body: REDIRECT_URI_MISMATCH });
    await expectRedeemable(fields, client, false);
  });
});

describe("RFC 8707 §2.2: a resource the code was not authorized for is refused and the code stays live", () => {
  it("public client, another resource: 400 invalid_target 'requested resource not authorized', then the right one redeems", async () => {
    const { client, fields } = await publicCode();
    const other = await oidc.tokenRequest({ ...fields, resource: "https://other-api.example.test/" });
    expect(await answer(other)).toEqual({
      status: 400,
      body: { error: "invalid_target", error_description: "requested resource not authorized" },
    });
    await expectRedeemable(fields, client, false);
  });
});

describe("single use under concurrency: wrong verifiers fired with the right redemption never burn the code", () => {
  it("8 wrong-verifier requests and the right one at once: the right one gets tokens, every wrong one invalid_grant", async () => {
    for (let round = 0; round < 3; round++) {
      const { client, fields } = await publicCode();
      const wrongFields = await Promise.all(
        Array.from({ length: 8 }, async () => ({ ...fields, code_verifier: await wrongVerifier() })),
      );
      // The wrong ones first, so most reach the code's turn ahead of the right one.
      const wrongRequests = wrongFields.map((form) => oidc.tokenRequest(form));
      const [right, ...wrong] = await Promise.all([oidc.tokenRequest(fields), ...wrongRequests]);
      await tokens(right as Response);
      for (const response of wrong) {
        const refused = await answer(response);
        // Before the redemption, the verifier is refused; after it, the code is spent: a replay
        // by its own public client, which ends the grant (RFC 6749 §4.1.2; oidc-code-replay-grant.test.ts).
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe("invalid_grant");
        expect(["code verification failed", "invalid code"]).toContain(refused.body.error_description);
      }
    }
  });

  it("8 wrong-verifier requests fired at once, then the right one: it gets tokens and they stay live", async () => {
    const { client, fields } = await publicCode();
    const wrongFields = await Promise.all(
      Array.from({ length: 8 }, async () => ({ ...fields, code_verifier: await wrongVerifier() })),
    );
    const wrong = await Promise.all(wrongFields.map((form) => oidc.tokenRequest(form)));
    for (const response of wrong) {
      expect(await answer(response)).toEqual({ status: 400, body: CODE_VERIFICATION_FAILED });
    }
    await expectRedeemable(fields, client, false);
  });
});
