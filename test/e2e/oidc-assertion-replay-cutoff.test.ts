// RFC 7521 §4.2: beside a `private_key_jwt` assertion, `client_id` is
// optional, and a Client ID Metadata Document client (the harness's https
// host, test/support/runtime/cimd-host `/clients/private-key-jwt`) may leave
// it out. A refresh token used after it was rotated away has leaked (RFC 9700
// §4.14.2), and a code used twice likewise (RFC 6749 §4.1.2): Better Auth
// ends the grant's stored tokens, and the token Worker cuts off its JWT
// access tokens, the thief's from the successor included. Sent with the
// assertion alone, neither named a client to the token Worker, so the
// access tokens passed the gateway until the cron's pass (code) or for
// their whole lifetime (refresh). On the whole system, through the gateway.
import { describe, expect, it } from "vitest";
import { assertedTokenRequest, assertingClientCode, assertingClientSystem } from "../support/consented-code.ts";
import { mcpGatewayVerdict } from "../support/gateway-verdict.ts";
import { clientAssertion } from "../support/runtime/cimd-host/assertion-signer.ts";
import type { RunningSystem } from "../support/system.ts";

const REFUSED_WITHIN = { timeout: 30_000, interval: 100 };

let system: RunningSystem;
let issuer: string;
let resource: string;

assertingClientSystem((started) => {
  ({ system, issuer, resource } = started);
});

/** A token request authenticated by the assertion alone: no `client_id` (RFC 7521 §4.2). */
async function assertedGrant(fields: Record<string, string>): Promise<Response> {
  return assertedTokenRequest(system, fields, await clientAssertion(issuer));
}

/** A person signs up, authorizes the document client for the demo MCP server and consents: the code's fields. */
const authorizedCode = (): Promise<Record<string, string>> => assertingClientCode(system, resource);

const gateway = (token: string): Promise<string> => mcpGatewayVerdict(system, resource, token);

interface Issued {
  access_token: string;
  refresh_token?: string;
}

describe("a private_key_jwt client's grant replayed with the assertion alone", { timeout: 120_000 }, () => {
  it("a refresh token used after its rotation cuts off the successor's access token at once", async () => {
    const first = await assertedGrant(await authorizedCode());
    expect(first.status, await first.clone().text()).toBe(200);
    const issued = (await first.json()) as Issued;
    expect(issued.refresh_token).toBeTruthy();
    const rotated = await assertedGrant({ grant_type: "refresh_token", refresh_token: issued.refresh_token ?? "" });
    expect(rotated.status, await rotated.clone().text()).toBe(200);
    const successor = (await rotated.json()) as Issued;
    expect(await gateway(successor.access_token)).toBe("allowed");

    const reuse = await assertedGrant({ grant_type: "refresh_token", refresh_token: issued.refresh_token ?? "" });
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe("invalid_grant");
    await expect.poll(() => gateway(successor.access_token), REFUSED_WITHIN).toBe("401 ERR_TOKEN_REVOKED");
  });

  it("a code sent again cuts off what its redemption yielded at once", async () => {
    const fields = await authorizedCode();
    const first = await assertedGrant(fields);
    expect(first.status, await first.clone().text()).toBe(200);
    const issued = (await first.json()) as Issued;
    expect(await gateway(issued.access_token)).toBe("allowed");

    const replay = await assertedGrant(fields);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe("invalid_grant");
    await expect.poll(() => gateway(issued.access_token), REFUSED_WITHIN).toBe("401 ERR_TOKEN_REVOKED");
  });
});
