// The browser provider's grants at the issuer's one token endpoint, as a
// client sends them with DPoP proofs (test/token/oidc-dpop*.test.ts).
import { exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { clientAddress } from "../support/credential-limits.ts";
import type { Client, TokenResponse } from "../support/runtime/browser-oidc.ts";
import { type DpopKey, dpopProof } from "../support/runtime/dpop-proof.ts";
import { ISSUER } from "./oidc-fixture.ts";

/** What RFC 9449 §4.3 has a client sign: the `token_endpoint` of the metadata. */
export const HTU = `${ISSUER}${ENDPOINT.token}`;
/** The provider's internal path, which answers 404 from the internet. */
export const INTERNAL_HTU = `${ISSUER}${OIDC_ENDPOINT.token}`;

/** `typ` spellings RFC 7515 §4.1.9 makes the same media type as `dpop+jwt`, which Better Auth refuses. */
export const VARIANT_TYPS = ["application/dpop+jwt", "DPoP+JWT", "application/DPoP+JWT"];

export interface ErrorBody {
  error: string;
  error_description: string;
}

/** A token request to the one token endpoint, with the client's secret and any DPoP proof. */
export function tokenRequest(fields: Record<string, string>, client: Client, proof?: string): Promise<Response> {
  const headers: Record<string, string> = {
    "Content-Type": "application/x-www-form-urlencoded",
    "cf-connecting-ip": clientAddress(),
    Authorization: `Basic ${btoa(`${client.clientId}:${client.clientSecret}`)}`,
  };
  if (proof !== undefined) headers[DPOP_HEADER.proof] = proof;
  return exports.default.fetch(new Request(HTU, { method: "POST", headers, body: new URLSearchParams(fields) }));
}

export function refresh(refreshToken: string, client: Client, proof?: string): Promise<Response> {
  return tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken }, client, proof);
}

export async function expectRefusal(response: Response, error: string, code?: string): Promise<ErrorBody> {
  const body = (await response.json()) as ErrorBody;
  expect({ status: response.status, error: body.error }).toEqual({ status: 400, error });
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  if (code) expect(body.error_description.startsWith(`${code}:`)).toBe(true);
  return body;
}

/** RFC 9449 §8: the first proof, without a nonce, is answered `use_dpop_nonce` with the nonce to use. */
export async function learnNonce(refreshToken: string, client: Client, key: DpopKey): Promise<string> {
  const response = await refresh(refreshToken, client, await dpopProof(key, { htm: "POST", htu: HTU }));
  await expectRefusal(response, "use_dpop_nonce", "ERR_DPOP_NONCE");
  const nonce = response.headers.get(DPOP_HEADER.nonce);
  expect(nonce).toBeTruthy();
  return nonce as string;
}

export async function expectBoundTo(response: Response, key: DpopKey): Promise<TokenResponse> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as TokenResponse;
  expect(body.token_type).toBe("DPoP");
  expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });
  return body;
}
