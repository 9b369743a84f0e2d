// OIDC Core §3.1.2.1 `id_token_hint` at the authorization endpoint
// (workers/authn/src/oidc/authorize-id-token-hint.ts): the relying party says
// whose session it expects. A code for whoever else is signed in in this
// browser would hand the client another person's identity, silently with
// prompt=none; so another person's session is `login_required`, and a hint
// that is no ID token of ours for this client is `invalid_request`, both at
// the client's registered redirect URI with `state` and `iss` (§3.1.2.6,
// RFC 9207).
import { decodeJwt, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ISSUER, oidc, pkce, REDIRECT_URI } from "./oidc-helpers.ts";

function answer(response: Response) {
  const url = new URL(response.headers.get("Location") ?? "", ISSUER);
  return {
    status: response.status,
    target: `${url.origin}${url.pathname}`,
    fields: Object.fromEntries(url.searchParams),
  };
}

/** The claims signed by a key the issuer does not publish (what an ID token of a retired key is to it). */
async function underUnpublishedKey(claims: JWTPayload): Promise<string> {
  const { privateKey } = await generateKeyPair("ES256");
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: `retired-${crypto.randomUUID()}` })
    .sign(privateKey);
}

/** A person who signed in to a client once (their ID token), and a request of that client for them. */
async function signedInBefore() {
  const { person, client, tokens } = await oidc.issuedTokens();
  const hint = tokens.id_token ?? "";
  expect(decodeJwt(hint).sub).toBe(person.userId);
  const { challenge } = await pkce();
  const request = (extra: Record<string, string>) =>
    oidc.codeRequest(client.clientId, challenge, { id_token_hint: hint, ...extra });
  return { person, client, hint, request };
}

describe("OIDC Core §3.1.2.1 id_token_hint at the authorization endpoint", () => {
  it("another person signed in in this browser is login_required, silent or not, and no code is issued", async () => {
    const { request } = await signedInBefore();
    const other = await oidc.signUp("Someone Else");
    for (const extra of [{ prompt: "none" }, {}] as Record<string, string>[]) {
      const sent = request(extra);
      expect(answer(await oidc.authorize(sent, other.cookie))).toEqual({
        status: 302,
        target: REDIRECT_URI,
        fields: {
          error: "login_required",
          error_description: "the person signed in is not the one the id_token_hint names",
          state: sent.state,
          iss: ISSUER,
        },
      });
    }
  });

  it("the person the hint names gets their code, silently", async () => {
    const { person, request } = await signedInBefore();
    const sent = request({ prompt: "none" });
    const { status, target, fields } = answer(await oidc.authorize(sent, person.cookie));
    expect({ status, target, state: fields.state, iss: fields.iss, error: fields.error }).toEqual({
      status: 302,
      target: REDIRECT_URI,
      state: sent.state,
      iss: ISSUER,
      error: undefined,
    });
    expect(fields.code).toMatch(/^\w+$/);
  });

  it("a hint that is no ID token of ours for this client is invalid_request", async () => {
    const { person, client, hint } = await signedInBefore();
    const elsewhere = await oidc.issuedTokens();
    const [header, payload] = hint.split(".");
    const { challenge } = await pkce();
    const cases: [string, string][] = [
      ["not a JWT", "not-a-jwt"],
      ["a signature that is not the issuer's", `${header}.${payload}.${"A".repeat(86)}`],
      ["another client's ID token", elsewhere.tokens.id_token ?? ""],
      ["an access token of ours", elsewhere.tokens.access_token],
      // Right in every claim, under a key the issuer no longer publishes: a retired key's ID token.
      ["an ID token under a retired key", await underUnpublishedKey(decodeJwt(hint))],
    ];
    for (const [what, value] of cases) {
      const sent = oidc.codeRequest(client.clientId, challenge, { id_token_hint: value });
      expect({ what, ...answer(await oidc.authorize(sent, person.cookie)) }).toEqual({
        what,
        status: 302,
        target: REDIRECT_URI,
        fields: {
          error: "invalid_request",
          error_description: "id_token_hint is not an ID token this provider issued to this client",
          state: sent.state,
          iss: ISSUER,
        },
      });
    }
  });
});
