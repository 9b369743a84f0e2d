// RFC 9449 §8: a token request refused `use_dpop_nonce` is retried with a
// fresh proof carrying the nonce, and clients resend the same form, so the
// same RFC 7523 client assertion. The proof was checked only after the
// assertion was verified and its `jti` spent, so the retry §8 asks for failed
// 401 invalid_client ("client assertion already used"). The proof is now
// checked before the client is authenticated (dpop/token-request-binding.ts
// provenDpopKey), and a refused proof spends no assertion.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { dpopKey, dpopProof } from "../support/runtime/dpop-proof.ts";
import { assertionParams, clientAssertion, registerTestClient } from "./clients-fixtures.ts";
import { expectOAuthError, tokenRequest } from "./fixtures.ts";

const HTU = `${env.ISSUER}${ENDPOINT.token}`;

async function privateKeyJwtRequest() {
  const client = await registerTestClient({ authMethod: "private_key_jwt" });
  const form = assertionParams(await clientAssertion(client));
  return (proof: string) => tokenRequest(form, { headers: { DPoP: proof } });
}

describe("a DPoP refusal at the token endpoint spends no client assertion (RFC 9449 §8, RFC 7523 §3)", () => {
  it("the nonce challenge, retried with the same assertion and a proof carrying the nonce: 200 DPoP", async () => {
    const send = await privateKeyJwtRequest();
    const key = await dpopKey();
    const challenged = await send(await dpopProof(key, { htm: "POST", htu: HTU }));
    const nonce = challenged.headers.get(DPOP_HEADER.nonce);
    expect(nonce).toBeTruthy();
    await expectOAuthError(challenged, 400, "use_dpop_nonce");
    const retried = await send(await dpopProof(key, { htm: "POST", htu: HTU, nonce: nonce as string }));
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as { token_type: string }).token_type).toBe("DPoP");
  });

  it("an invalid proof is refused invalid_dpop_proof, and the same assertion then works with a valid one", async () => {
    const send = await privateKeyJwtRequest();
    const key = await dpopKey();
    const nonce = (await send(await dpopProof(key, { htm: "POST", htu: HTU }))).headers.get(
      DPOP_HEADER.nonce,
    ) as string;
    const wrongUri = await send(await dpopProof(key, { htm: "POST", htu: `${env.ISSUER}/elsewhere`, nonce }));
    const body = await expectOAuthError(wrongUri, 400, "invalid_dpop_proof");
    expect(body.error_description.startsWith("ERR_DPOP_HTU:")).toBe(true);
    expect((await send(await dpopProof(key, { htm: "POST", htu: HTU, nonce }))).status).toBe(200);
  });
});
