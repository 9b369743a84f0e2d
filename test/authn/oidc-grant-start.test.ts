// A browser-flow access token's `iat` is the moment its grant reached the
// provider, before Better Auth read the code and the membership
// (workers/authn/src/oidc/grant-start.ts), as the token Worker stamps its
// own tokens: a membership cut-off recorded after that read covers the
// token however late it is signed. Its lifetime is Better Auth's.
import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { tokenService } from "../../workers/authn/src/config.ts";
import { handOverToProvider } from "../../workers/authn/src/oidc/grant-entrypoint.ts";
import { stampedAtGrantStart } from "../../workers/authn/src/oidc/grant-start.ts";
import { oidcDriver } from "../support/runtime/browser-oidc.ts";
import { ORIGIN } from "./helpers.ts";
import { oidc, pkce, REDIRECT_URI, type TokenResponse } from "./oidc-helpers.ts";

/** The same driver, with every grant received three seconds before it is handled. */
const EARLIER_MS = 3000;
let receivedAtMs = 0;
const early = oidcDriver({
  issuer: env.ISSUER,
  apiAudience: env.API_AUDIENCE,
  db: env.DB,
  authn: (request) => exports.default.fetch(request),
  tokenEndpoint: `${ORIGIN}${OIDC_ENDPOINT.token}`,
  token: async (request) => {
    receivedAtMs = Date.now() - EARLIER_MS;
    const answer = await handOverToProvider(
      env,
      OIDC_ENDPOINT.token,
      {
        form: await request.text(),
        authorization: request.headers.get("Authorization") ?? undefined,
        clientAddress: request.headers.get("cf-connecting-ip") ?? undefined,
      },
      receivedAtMs,
    );
    return new Response(answer.body, { status: answer.status, headers: { "Content-Type": "application/json" } });
  },
  jwks: () => tokenService(env).jwks(),
});

async function redeemedWith(driver: typeof oidc): Promise<TokenResponse> {
  const person = await driver.signUp();
  const client = await driver.browserClient();
  const { verifier, challenge } = await pkce();
  const back = await driver.authorizeAndConsent(driver.codeRequest(client.clientId, challenge), person.cookie);
  const response = await driver.tokenRequest(
    {
      grant_type: "authorization_code",
      code: back.searchParams.get("code") ?? "",
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource: env.API_AUDIENCE,
    },
    client,
  );
  expect(response.status).toBe(200);
  return (await response.json()) as TokenResponse;
}

describe("a browser-flow access token's iat", () => {
  it("is the moment the grant arrived, its lifetime unchanged, and the ID token's own", async () => {
    const usual = decodeJwt((await redeemedWith(oidc)).access_token);
    const tokens = await redeemedWith(early);
    const access = decodeJwt(tokens.access_token);
    expect(access.iat).toBe(Math.floor(receivedAtMs / 1000));
    expect((access.exp as number) - (access.iat as number)).toBe((usual.exp as number) - (usual.iat as number));
    // The ID token says when it was signed: no cut-off applies to it.
    expect(decodeJwt(tokens.id_token ?? "").iat).toBeGreaterThan(access.iat as number);
  });

  it("is only ever moved back, never forward", () => {
    const claims = { iat: 1_000, exp: 1_300, sub: "s" };
    expect(stampedAtGrantStart(claims, 998_500)).toEqual({ iat: 998, exp: 1_298, sub: "s" });
    expect(stampedAtGrantStart(claims, 1_005_000)).toBe(claims);
    const untimed: { sub: string; iat?: number; exp?: number } = { sub: "s" };
    expect(stampedAtGrantStart(untimed, 998_500)).toBe(untimed);
  });
});
