// RFC 6749 §4.1.2: "If an authorization code is used more than once, the
// authorization server MUST deny the request and SHOULD revoke (when
// possible) all tokens previously issued based on that authorization code."
// On the whole system: a relying party redeems a code without
// `offline_access` (no refresh token, so no row of Better Auth's names the
// grant's org; the redemption leaves its own, D1 `redeemed_code_grant`),
// then the code is sent again. The replay is refused, and the access token
// the first redemption yielded is inactive at introspection and refused at
// the gateway; before the replay, the gateway let it through.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { consentedCode } from "../support/consented-code.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { gatewayVerdict } from "../support/gateway-verdict.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const REDIRECT_URI = "http://localhost:4998/callback";
const SCOPE = "openid profile email documents:read";
const REFUSED_WITHIN = { timeout: 30_000, interval: 100 };

let system: RunningSystem;
let operator: OperatorCli;
let clientId: string;
let clientSecret: string;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "oidc-code-replay");
  const registered = await operator.json<{ client_id: string; client_secret: string }>(
    ...["oidc-client", "create", "--name", "Replay RP", "--redirect-uri", REDIRECT_URI, "--scope", SCOPE],
  );
  clientId = registered.client_id;
  clientSecret = registered.client_secret;
});
afterAll(() => system?.close());

function basic(): string {
  return `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`)}`;
}

function form(path: string, fields: Record<string, string>): Promise<Response> {
  return system.fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: basic() },
    body: new URLSearchParams(fields),
  });
}

/** A person signs up, authorizes the client (no offline_access) and consents: the token request's fields. */
function authorizedCode(): Promise<Record<string, string>> {
  return consentedCode(system, { clientId, redirectUri: REDIRECT_URI, scope: SCOPE, resource: `${system.origin}/api` });
}

const gateway = (token: string): Promise<string> => gatewayVerdict(system, token);

async function introspected(token: string): Promise<boolean> {
  const response = await form(ENDPOINT.introspection, { token });
  expect(response.status).toBe(200);
  return ((await response.json()) as { active: boolean }).active;
}

describe("a replayed code redeemed without a refresh token", { timeout: 120_000 }, () => {
  it("is 400 invalid_grant, and the first access token is then inactive and refused at the gateway", async () => {
    const fields = await authorizedCode();
    const first = await form(ENDPOINT.token, fields);
    expect(first.status).toBe(200);
    const issued = (await first.json()) as { access_token: string; refresh_token?: string };
    expect(issued.refresh_token).toBeUndefined();
    expect(await gateway(issued.access_token)).toBe("allowed");
    expect(await introspected(issued.access_token)).toBe(true);

    const replay = await form(ENDPOINT.token, fields);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe("invalid_grant");

    expect(await introspected(issued.access_token)).toBe(false);
    await expect.poll(() => gateway(issued.access_token), REFUSED_WITHIN).toBe("401 ERR_TOKEN_REVOKED");
  });
});
