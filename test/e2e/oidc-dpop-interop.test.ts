// RFC 9449 on the browser provider's grants, with openid-client 6
// (unmodified) as the relying party on the whole system: it signs its proofs
// for the token_endpoint the metadata advertises, learns the issuer's nonce
// from the first `use_dpop_nonce` answer, and gets DPoP-bound tokens for a
// code and for each refresh.
import { calculateJwkThumbprint, decodeJwt, exportJWK } from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { answerConsentPage } from "../support/consent-form.ts";
import { CookieBrowser } from "../support/cookie-browser.ts";
import { discoveredRp } from "../support/openid-client-rp.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const REDIRECT_URI = "http://localhost:4998/callback";
const SCOPE = "openid profile email offline_access documents:read";

let system: RunningSystem;
let operator: OperatorCli;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "oidc-dpop");
});
afterAll(() => system?.close());

describe("openid-client with DPoP at the issuer's one token endpoint (RFC 9449)", () => {
  it("a code and two refreshes, each access token bound to the client's key (cnf.jkt, token_type DPoP)", async () => {
    const registered = await operator.json<{ client_id: string; client_secret?: string }>(
      ...["oidc-client", "create", "--name", "DPoP RP", "--redirect-uri", REDIRECT_URI, "--scope", SCOPE],
    );
    const config = await discoveredRp(system, registered.client_id, registered.client_secret ?? "");
    expect(config.serverMetadata().token_endpoint).toBe(`${system.origin}${ENDPOINT.token}`);
    const keyPair = await client.randomDPoPKeyPair("ES256");
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
    const DPoP = client.getDPoPHandle(config, keyPair);

    const browser = new CookieBrowser(system);
    const signedUp = await browser.post(ENDPOINT.signUp, {
      name: "Bound Person",
      email: `${crypto.randomUUID()}@example.com`,
      password: "correct horse battery staple",
    });
    expect(signedUp.status).toBe(303);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state: "s",
      resource: `${system.origin}/api`,
    });
    const authorized = await browser.get(url.href);
    const consent =
      authorized.status === 302
        ? new URL(authorized.headers.get("Location") ?? "", system.origin)
        : new URL(((await authorized.json()) as { url: string }).url, system.origin);
    expect(consent.pathname).toBe(ENDPOINT.consent);
    const answer = await answerConsentPage(browser, consent);
    expect(answer.status).toBe(303);

    const tokens = await client.authorizationCodeGrant(
      config,
      new URL(answer.headers.get("Location") ?? ""),
      { pkceCodeVerifier: verifier, expectedState: "s" },
      { resource: `${system.origin}/api` },
      { DPoP },
    );
    expect(tokens.token_type.toLowerCase()).toBe("dpop");
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt });

    let refreshToken = tokens.refresh_token ?? "";
    for (let i = 0; i < 2; i++) {
      const refreshed = await client.refreshTokenGrant(config, refreshToken, undefined, { DPoP });
      expect(refreshed.token_type.toLowerCase()).toBe("dpop");
      expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt });
      refreshToken = refreshed.refresh_token ?? "";
    }
  });
});
