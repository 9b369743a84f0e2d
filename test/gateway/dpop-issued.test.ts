import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { dpopKey, dpopProof } from "../support/runtime/dpop-proof.ts";
import { registerClient, tokenRequest } from "./dpop-fixtures.ts";

// End to end inside the runtime: the real token Worker issues a DPoP-bound
// token through the gateway's public route, and the gateway enforces the
// binding on a protected one.
const TOKEN_URL = `${env.ISSUER}${ENDPOINT.token}`;
const ECHO_URL = `${env.ISSUER}${ENDPOINT.demoEcho}`;

describe("a DPoP-bound token from the token Worker, at the gateway", () => {
  it("is issued through the gateway (the proof crosses the public route) and accepted only with a proof", async () => {
    const client = await registerClient({ kind: "agent" });
    const key = await dpopKey();
    const first = await tokenRequest(client, { DPoP: await dpopProof(key, { htm: "POST", htu: TOKEN_URL }) });
    expect(first.status).toBe(400);
    const nonce = first.headers.get(DPOP_HEADER.nonce) as string;
    expect(nonce).toBeTruthy();
    const issued = await tokenRequest(client, { DPoP: await dpopProof(key, { htm: "POST", htu: TOKEN_URL, nonce }) });
    expect(issued.status).toBe(200);
    const body = (await issued.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe("DPoP");
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });

    const call = async (scheme: string, withProof: boolean) =>
      exports.default.fetch(
        new Request(ECHO_URL, {
          headers: {
            Authorization: `${scheme} ${body.access_token}`,
            ...(withProof
              ? { DPoP: await dpopProof(key, { htm: "GET", htu: ECHO_URL, accessToken: body.access_token }) }
              : {}),
          },
        }),
      );
    expect((await call("DPoP", true)).status).toBe(200);
    expect((await call("DPoP", true)).status).toBe(200);
    const bearer = await call("Bearer", true);
    expect(bearer.status).toBe(401);
    expect(bearer.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    const noProof = await call("DPoP", false);
    expect(noProof.status).toBe(401);
    expect(noProof.headers.get("WWW-Authenticate")).toContain('error="invalid_dpop_proof"');
  });
});
