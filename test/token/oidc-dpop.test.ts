// RFC 9449 for the browser provider's grants at the issuer's one token
// endpoint: the token Worker checks the proof as for every grant (htu =
// the advertised token_endpoint, its nonce, its jti once) before it hands
// the grant to the authn Worker, whose Better Auth binds the token and
// checks the proof against the same advertised URL.
import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { DPOP_SIGNING_ALGS } from "../../shared/contracts/tokens.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { currentDpopNonce, DPOP_NONCE_WINDOW_SECONDS } from "../../workers/token/src/dpop/nonce.ts";
import { clientAddress } from "../support/credential-limits.ts";
import { type Client, pkce, REDIRECT_URI, type TokenResponse } from "../support/runtime/browser-oidc.ts";
import { type DpopKey, dpopKey, dpopProof } from "../support/runtime/dpop-proof.ts";
import { API, ISSUER, oidc } from "./oidc-fixture.ts";

/** What RFC 9449 §4.3 has a client sign: the `token_endpoint` of the metadata. */
const HTU = `${ISSUER}${ENDPOINT.token}`;
/** The provider's internal path, which answers 404 from the internet. */
const INTERNAL_HTU = `${ISSUER}${OIDC_ENDPOINT.token}`;

/** `typ` spellings RFC 7515 §4.1.9 makes the same media type as `dpop+jwt`, which Better Auth refuses. */
const VARIANT_TYPS = ["application/dpop+jwt", "DPoP+JWT", "application/DPoP+JWT"];

interface ErrorBody {
  error: string;
  error_description: string;
}

/** A token request to the one token endpoint, with the client's secret and any DPoP proof. */
function tokenRequest(fields: Record<string, string>, client: Client, proof?: string): Promise<Response> {
  const headers: Record<string, string> = {
    "Content-Type": "application/x-www-form-urlencoded",
    "cf-connecting-ip": clientAddress(),
    Authorization: `Basic ${btoa(`${client.clientId}:${client.clientSecret}`)}`,
  };
  if (proof !== undefined) headers[DPOP_HEADER.proof] = proof;
  return exports.default.fetch(new Request(HTU, { method: "POST", headers, body: new URLSearchParams(fields) }));
}

function refresh(refreshToken: string, client: Client, proof?: string): Promise<Response> {
  return tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken }, client, proof);
}

async function expectRefusal(response: Response, error: string, code?: string): Promise<ErrorBody> {
  const body = (await response.json()) as ErrorBody;
  expect({ status: response.status, error: body.error }).toEqual({ status: 400, error });
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  if (code) expect(body.error_description.startsWith(`${code}:`)).toBe(true);
  return body;
}

/** RFC 9449 §8: the first proof, without a nonce, is answered `use_dpop_nonce` with the nonce to use. */
async function learnNonce(refreshToken: string, client: Client, key: DpopKey): Promise<string> {
  const response = await refresh(refreshToken, client, await dpopProof(key, { htm: "POST", htu: HTU }));
  await expectRefusal(response, "use_dpop_nonce", "ERR_DPOP_NONCE");
  const nonce = response.headers.get(DPOP_HEADER.nonce);
  expect(nonce).toBeTruthy();
  return nonce as string;
}

async function expectBoundTo(response: Response, key: DpopKey): Promise<TokenResponse> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as TokenResponse;
  expect(body.token_type).toBe("DPoP");
  expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });
  return body;
}

describe("DPoP on the browser provider's grants at ENDPOINT.token (RFC 9449)", () => {
  it("a refresh whose proof names the advertised token_endpoint gets a DPoP-bound token, and the next nonce", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const key = await dpopKey();
    const nonce = await learnNonce(tokens.refresh_token ?? "", client, key);
    const response = await refresh(
      tokens.refresh_token ?? "",
      client,
      await dpopProof(key, { htm: "POST", htu: HTU, nonce }),
    );
    // §8: every answer to a DPoP request names the nonce to use next, as for the machine grants.
    expect(response.headers.get(DPOP_HEADER.nonce)).toBe(nonce);
    const bound = await expectBoundTo(response, key);
    // §5: the refresh token is now bound to that key too; the provider wants its proof next time.
    await expectRefusal(await refresh(bound.refresh_token ?? "", client), "invalid_dpop_proof");
    const next = await refresh(
      bound.refresh_token ?? "",
      client,
      await dpopProof(key, { htm: "POST", htu: HTU, nonce }),
    );
    await expectBoundTo(next, key);
  });

  it("a code is redeemed for a DPoP-bound token with a proof of the advertised endpoint; the nonce round trip spends no code", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(oidc.codeRequest(client.clientId, challenge), person.cookie);
    const fields = {
      grant_type: "authorization_code",
      code: back.searchParams.get("code") ?? "",
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource: API,
    };
    const key = await dpopKey();
    const challenged = await tokenRequest(fields, client, await dpopProof(key, { htm: "POST", htu: HTU }));
    await expectRefusal(challenged, "use_dpop_nonce", "ERR_DPOP_NONCE");
    const nonce = challenged.headers.get(DPOP_HEADER.nonce) ?? "";
    const response = await tokenRequest(fields, client, await dpopProof(key, { htm: "POST", htu: HTU, nonce }));
    const tokens = await expectBoundTo(response, key);
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: ISSUER,
      org_id: person.orgId,
      client_id: client.clientId,
    });
  });

  it("a proof signed for the provider's internal path is invalid_dpop_proof (ERR_DPOP_HTU), and the refresh token is not spent", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const key = await dpopKey();
    const nonce = await learnNonce(tokens.refresh_token ?? "", client, key);
    const response = await refresh(
      tokens.refresh_token ?? "",
      client,
      await dpopProof(key, { htm: "POST", htu: INTERNAL_HTU, nonce }),
    );
    await expectRefusal(response, "invalid_dpop_proof", "ERR_DPOP_HTU");
    expect(response.headers.get(DPOP_HEADER.nonce)).toBeTruthy();
    // Refused before the provider saw it: the refresh token still rotates (as a bearer grant, no proof).
    const bearer = await refresh(tokens.refresh_token ?? "", client);
    expect(bearer.status).toBe(200);
    expect(((await bearer.json()) as TokenResponse).token_type).toBe("Bearer");
  });

  // RFC 9449 §4.3 step 9 has us compare after RFC 3986 normalisation, so the machine grants take
  // /oauth2/%74oken for /oauth2/token (dpop-token-endpoint.test.ts); Better Auth, which checks a
  // browser grant's proof again, compares the URLs as the WHATWG parser writes them and refuses any
  // fragment. Those proofs were passed on and refused there, in its words; now here, with our code.
  it("a proof Better Auth would refuse — the endpoint spelled with escapes, or with a fragment — is ERR_DPOP_HTU here, and spends no refresh token", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const key = await dpopKey();
    const nonce = await learnNonce(tokens.refresh_token ?? "", client, key);
    const path = ENDPOINT.token.slice(0, ENDPOINT.token.lastIndexOf("/"));
    for (const htu of [
      `${ISSUER}${path}/%74oken`,
      `${ISSUER}${path}/%74%6f%6b%65%6e`,
      `${HTU}#token`,
      `${HTU}?request=1#x`,
    ]) {
      const response = await refresh(
        tokens.refresh_token ?? "",
        client,
        await dpopProof(key, { htm: "POST", htu, nonce }),
      );
      const body = await expectRefusal(response, "invalid_dpop_proof", "ERR_DPOP_HTU");
      expect(body.error_description, htu).toBe("ERR_DPOP_HTU: the DPoP proof's htu does not match the request URI");
      expect(response.headers.get(DPOP_HEADER.nonce)).toBeTruthy();
    }
    // What both judge alike passes: a query (ignored by both) and an empty fragment (none, to the WHATWG parser).
    const bound = await expectBoundTo(
      await refresh(
        tokens.refresh_token ?? "",
        client,
        await dpopProof(key, { htm: "POST", htu: `${HTU}?x=1#`, nonce }),
      ),
      key,
    );
    expect(bound.refresh_token).toBeTruthy();
  });

  // RFC 7515 §4.1.9 makes typ a media type, case-insensitive with `application/` optional, and our shared
  // check takes each spelling, at the machine grants too (dpop-proof.test.ts, dpop-token-endpoint.test.ts);
  // Better Auth, which checks a browser grant's proof again, takes "dpop+jwt" exactly (RFC 9449 §4.2's
  // value). Those proofs were passed on and refused there, in its words; now here, with our code.
  it("a proof whose typ is spelled otherwise — application/dpop+jwt, DPoP+JWT — is ERR_DPOP_TYP here, and spends no refresh token", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const key = await dpopKey();
    const nonce = await learnNonce(tokens.refresh_token ?? "", client, key);
    for (const typ of VARIANT_TYPS) {
      const response = await refresh(
        tokens.refresh_token ?? "",
        client,
        await dpopProof(key, { htm: "POST", htu: HTU, nonce, header: { typ } }),
      );
      const body = await expectRefusal(response, "invalid_dpop_proof", "ERR_DPOP_TYP");
      expect(body.error_description, typ).toBe("ERR_DPOP_TYP: the DPoP proof's typ is not dpop+jwt");
      expect(response.headers.get(DPOP_HEADER.nonce)).toBeTruthy();
    }
    // §4.3's order, and Better Auth's: typ (step 4) before htu (step 9).
    const both = await dpopProof(key, { htm: "POST", htu: `${HTU}#x`, nonce, header: { typ: "DPoP+JWT" } });
    await expectRefusal(await refresh(tokens.refresh_token ?? "", client, both), "invalid_dpop_proof", "ERR_DPOP_TYP");
    await expectBoundTo(
      await refresh(tokens.refresh_token ?? "", client, await dpopProof(key, { htm: "POST", htu: HTU, nonce })),
      key,
    );
  });

  // Better Auth verifies these proofs again with jose's jwtVerify (exp and nbf, with no clock tolerance)
  // after importing the jwk through WebCrypto (key_ops is the key's usages): such proofs passed our check,
  // were refused there in its words and spent the refresh token's turn. RFC 7519 §4.1.4/§4.1.5 and RFC
  // 7517 §4.2/§4.3 make them wrong for every grant; the shared check refuses them now, with our code.
  it("a proof past its exp, before its nbf, or whose jwk is not for verifying (key_ops, use) is refused here with its code, and spends no refresh token", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const key = await dpopKey();
    const nonce = await learnNonce(tokens.refresh_token ?? "", client, key);
    const now = Math.floor(Date.now() / 1000);
    const cases: [Parameters<typeof dpopProof>[1], string][] = [
      [{ htm: "POST", htu: HTU, nonce, claims: { exp: now - 60 } }, "ERR_DPOP_EXP"],
      [{ htm: "POST", htu: HTU, nonce, claims: { exp: "soon" } }, "ERR_DPOP_EXP"],
      [{ htm: "POST", htu: HTU, nonce, claims: { nbf: now + 60 } }, "ERR_DPOP_NBF"],
      [{ htm: "POST", htu: HTU, nonce, header: { jwk: { ...key.publicJwk, key_ops: ["sign"] } } }, "ERR_DPOP_JWK"],
      [{ htm: "POST", htu: HTU, nonce, header: { jwk: { ...key.publicJwk, use: "enc" } } }, "ERR_DPOP_JWK"],
      [{ htm: "POST", htu: HTU, nonce, header: { jwk: { ...key.publicJwk, ext: "yes" } } }, "ERR_DPOP_JWK"],
    ];
    for (const [options, code] of cases) {
      const response = await refresh(tokens.refresh_token ?? "", client, await dpopProof(key, options));
      await expectRefusal(response, "invalid_dpop_proof", code);
      expect(response.headers.get(DPOP_HEADER.nonce)).toBeTruthy();
    }
    // Within the shared check's clock tolerance, but not Better Auth's (none): refused here too.
    const edge: [Parameters<typeof dpopProof>[1], string][] = [
      [{ htm: "POST", htu: HTU, nonce, claims: { exp: now - 1 } }, "ERR_DPOP_EXP"],
      [{ htm: "POST", htu: HTU, nonce, claims: { nbf: now + 3 } }, "ERR_DPOP_NBF"],
    ];
    for (const [options, code] of edge) {
      const response = await refresh(tokens.refresh_token ?? "", client, await dpopProof(key, options));
      await expectRefusal(response, "invalid_dpop_proof", code);
    }
    // None reached the provider: the refresh token binds, with exp, nbf, use and key_ops that allow the proof.
    const good = await dpopProof(key, {
      htm: "POST",
      htu: HTU,
      nonce,
      claims: { exp: now + 60, nbf: now - 1 },
      header: { jwk: { ...key.publicJwk, use: "sig", key_ops: ["verify"] } },
    });
    await expectBoundTo(await refresh(tokens.refresh_token ?? "", client, good), key);
  });

  it("a proof's jti is spent once: its replay is invalid_dpop_proof (ERR_DPOP_REPLAY), as for the machine grants", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const key = await dpopKey();
    const nonce = await learnNonce(tokens.refresh_token ?? "", client, key);
    const proof = await dpopProof(key, { htm: "POST", htu: HTU, nonce });
    const bound = await expectBoundTo(await refresh(tokens.refresh_token ?? "", client, proof), key);
    await expectRefusal(
      await refresh(bound.refresh_token ?? "", client, proof),
      "invalid_dpop_proof",
      "ERR_DPOP_REPLAY",
    );
    // The replay was refused before the provider: the rotated token is alive, with a fresh proof.
    await expectBoundTo(
      await refresh(bound.refresh_token ?? "", client, await dpopProof(key, { htm: "POST", htu: HTU, nonce })),
      key,
    );
  });

  it("10 concurrent refreshes with one proof: exactly one is served, the rest ERR_DPOP_REPLAY, and the family lives", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const key = await dpopKey();
    const nonce = await learnNonce(tokens.refresh_token ?? "", client, key);
    const proof = await dpopProof(key, { htm: "POST", htu: HTU, nonce });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => refresh(tokens.refresh_token ?? "", client, proof)),
    );
    const served = responses.filter((r) => r.status === 200);
    expect(served).toHaveLength(1);
    for (const response of responses.filter((r) => r.status !== 200)) {
      await expectRefusal(response, "invalid_dpop_proof", "ERR_DPOP_REPLAY");
    }
    // Only one request reached the provider, so no refresh-token reuse ended the family (RFC 9700 §4.14.2).
    const bound = await expectBoundTo(served[0] as Response, key);
    await expectBoundTo(
      await refresh(bound.refresh_token ?? "", client, await dpopProof(key, { htm: "POST", htu: HTU, nonce })),
      key,
    );
  });

  it("nonces as for the machine grants: none, a stale or a forged one is use_dpop_nonce with a fresh nonce", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const key = await dpopKey();
    const now = Math.floor(Date.now() / 1000);
    const stale = await currentDpopNonce(env.KEY_ENCRYPTION_SECRET, now - 2 * DPOP_NONCE_WINDOW_SECONDS);
    const forged = `${Math.floor(now / DPOP_NONCE_WINDOW_SECONDS)}.${"A".repeat(43)}`;
    for (const nonce of [undefined, stale, forged]) {
      const response = await refresh(
        tokens.refresh_token ?? "",
        client,
        await dpopProof(key, { htm: "POST", htu: HTU, nonce }),
      );
      await expectRefusal(response, "use_dpop_nonce", "ERR_DPOP_NONCE");
      const fresh = response.headers.get(DPOP_HEADER.nonce);
      expect(fresh).toBeTruthy();
      expect(fresh).not.toBe(nonce);
    }
    // None of those reached the provider: the refresh token is unspent.
    const nonce = await learnNonce(tokens.refresh_token ?? "", client, key);
    await expectBoundTo(
      await refresh(tokens.refresh_token ?? "", client, await dpopProof(key, { htm: "POST", htu: HTU, nonce })),
      key,
    );
  });

  it("a bearer refresh sends no DPoP-Nonce header", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const response = await refresh(tokens.refresh_token ?? "", client);
    expect(response.status).toBe(200);
    expect(response.headers.get(DPOP_HEADER.nonce)).toBeNull();
  });
});

describe("RFC 9449 §10: a code requested with dpop_jkt is checked against the proof before it is spent", () => {
  /** An authorization bound to `jkt`: the code's token request fields. */
  async function boundCode(client: Client, jkt: string | undefined, cookie?: string) {
    const person = cookie ? undefined : await oidc.signUp();
    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(
      oidc.codeRequest(client.clientId, challenge, { dpop_jkt: jkt }),
      cookie ?? person?.cookie ?? "",
    );
    return {
      grant_type: "authorization_code",
      code: back.searchParams.get("code") ?? "",
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource: API,
    };
  }

  /** A proof the token Worker accepts now: the advertised htu and the current nonce. */
  async function proofOf(key: DpopKey): Promise<string> {
    const nonce = await currentDpopNonce(env.KEY_ENCRYPTION_SECRET, Math.floor(Date.now() / 1000));
    return dpopProof(key, { htm: "POST", htu: HTU, nonce });
  }

  async function expectDpopRefusal(response: Response, description: string) {
    const body = await expectRefusal(response, "invalid_dpop_proof");
    expect(body.error_description).toBe(description);
  }

  it("no proof: 400 invalid_dpop_proof 'DPoP proof header is required', and the code then redeems with the key's proof", async () => {
    const client = await oidc.browserClient();
    const key = await dpopKey();
    const fields = await boundCode(client, key.jkt);
    await expectDpopRefusal(await tokenRequest(fields, client), "DPoP proof header is required");
    await expectBoundTo(await tokenRequest(fields, client, await proofOf(key)), key);
  });

  it("a verified proof of another key: 400 invalid_dpop_proof, and the bound key's proof then redeems", async () => {
    const client = await oidc.browserClient();
    const key = await dpopKey();
    const fields = await boundCode(client, key.jkt);
    const other = await dpopKey();
    await expectDpopRefusal(
      await tokenRequest(fields, client, await proofOf(other)),
      "DPoP proof key does not match the bound token",
    );
    await expectBoundTo(await tokenRequest(fields, client, await proofOf(key)), key);
  });

  it("a public client's bound code sent without the proof by anyone naming it stays redeemable", async () => {
    const client = await oidc.browserClient({ type: "public" });
    const key = await dpopKey();
    const fields = { ...(await boundCode(client, key.jkt)), client_id: client.clientId };
    const response = await oidc.tokenRequest(fields);
    await expectDpopRefusal(response, "DPoP proof header is required");
    const headers = {
      "Content-Type": "application/x-www-form-urlencoded",
      "cf-connecting-ip": clientAddress(),
      [DPOP_HEADER.proof]: await proofOf(key),
    };
    const redeemed = await exports.default.fetch(
      new Request(HTU, { method: "POST", headers, body: new URLSearchParams(fields) }),
    );
    await expectBoundTo(redeemed, key);
  });

  it("a client registered with dpop_bound_access_tokens: a code of it sent without a proof is refused and stays live", async () => {
    const client = await oidc.browserClient();
    // RFC 9449 §5.2, as the client's row says it (its metadata document, for a CIMD client).
    await env.DB.prepare("UPDATE oidc_client SET dpop_bound_access_tokens = 1 WHERE client_id = ?1")
      .bind(client.clientId)
      .run();
    const fields = await boundCode(client, undefined);
    await expectDpopRefusal(await tokenRequest(fields, client), "DPoP proof header is required");
    const key = await dpopKey();
    await expectBoundTo(await tokenRequest(fields, client, await proofOf(key)), key);
  });

  // The metadata advertises DPOP_SIGNING_ALGS, and the provider is configured with that one list
  // (workers/authn/src/oidc/dpop-proof-options.ts): with Better Auth's defaults (no ES384) an ES384 proof
  // passed here and was refused there, in its words, and the client could never use the key it had chosen.
  it.each(DPOP_SIGNING_ALGS)(
    "%s: a proof of it binds a code's tokens and the refresh's, as for the machine grants",
    async (alg) => {
      const client = await oidc.browserClient();
      const key = await dpopKey(alg);
      const fields = await boundCode(client, key.jkt);
      const tokens = await expectBoundTo(await tokenRequest(fields, client, await proofOf(key)), key);
      await expectBoundTo(await refresh(tokens.refresh_token ?? "", client, await proofOf(key)), key);
    },
  );

  it("a proof whose typ is spelled otherwise is ERR_DPOP_TYP before the hand-over, and the code stays redeemable", async () => {
    const client = await oidc.browserClient();
    const key = await dpopKey();
    const fields = await boundCode(client, key.jkt);
    const nonce = await currentDpopNonce(env.KEY_ENCRYPTION_SECRET, Math.floor(Date.now() / 1000));
    for (const typ of VARIANT_TYPS) {
      const proof = await dpopProof(key, { htm: "POST", htu: HTU, nonce, header: { typ } });
      const body = await expectRefusal(await tokenRequest(fields, client, proof), "invalid_dpop_proof", "ERR_DPOP_TYP");
      expect(body.error_description, typ).toBe("ERR_DPOP_TYP: the DPoP proof's typ is not dpop+jwt");
    }
    await expectBoundTo(await tokenRequest(fields, client, await proofOf(key)), key);
  });

  it("6 proofless requests and the bound key's redemption fired at once: the redemption is always 200", async () => {
    for (let round = 0; round < 3; round++) {
      const client = await oidc.browserClient();
      const key = await dpopKey();
      const fields = await boundCode(client, key.jkt);
      const proof = await proofOf(key);
      const [legit, ...proofless] = await Promise.all([
        tokenRequest(fields, client, proof),
        ...Array.from({ length: 6 }, () => tokenRequest(fields, client)),
      ]);
      await expectBoundTo(legit as Response, key);
      // Each waits for the code's turn: before the redemption it is refused and the code stays; after it, it is
      // the code's own client using it again (RFC 6749 §4.1.2), invalid_grant.
      for (const response of proofless) {
        const body = (await response.json()) as ErrorBody;
        expect([
          { status: 400, error: "invalid_dpop_proof", error_description: "DPoP proof header is required" },
          { status: 400, error: "invalid_grant", error_description: "invalid code" },
        ]).toContainEqual({ status: response.status, ...body });
      }
    }
  });
});
