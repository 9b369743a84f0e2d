// RFC 9449 §10 for the browser provider's codes: a code requested with
// `dpop_jkt` is redeemed only with a proof of that key, checked by the token
// Worker before the grant is handed to the authn Worker, so a refused
// request spends no code.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { DPOP_SIGNING_ALGS } from "../../shared/contracts/tokens.ts";
import { currentDpopNonce } from "../../workers/token/src/dpop/nonce.ts";
import { clientAddress } from "../support/credential-limits.ts";
import { type Client, pkce, REDIRECT_URI } from "../support/runtime/browser-oidc.ts";
import { type DpopKey, dpopKey, dpopProof } from "../support/runtime/dpop-proof.ts";
import {
  type ErrorBody,
  expectBoundTo,
  expectRefusal,
  HTU,
  refresh,
  tokenRequest,
  VARIANT_TYPS,
} from "./oidc-dpop-fixtures.ts";
import { API, oidc } from "./oidc-fixture.ts";

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
