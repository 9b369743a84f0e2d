// A code's turn (workers/token/src/oidc/grant-turns.ts) holds MAX_TURN_WAITERS requests and refuses any
// more at once. A `private_key_jwt` client's request naming the code's client used to pass the early
// pre-check (only Better Auth verified its assertion, inside the turn), so whoever held an intercepted
// live code could fill its turn with forged assertions and fail the person's own redemption. The
// pre-check now verifies the assertion as Better Auth does (RFC 7523 §3: signature, iss = sub = the
// client, aud, exp; workers/authn/src/oidc/live-code-assertion.ts) and refuses a forged one in Better
// Auth's words before it takes the turn. Better Auth verifies the assertion before it reads the code,
// so each forged request gets that one answer whether its check runs before or after the right
// redemption. The client is a Client ID Metadata Document client served by the real host Worker
// (test/support/runtime/cimd-host `/clients/private-key-jwt`), its keys resolved through the
// authn Worker's resolver; on the whole system, through the gateway.
import { generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { assertedTokenRequest, assertingClientCode, assertingClientSystem } from "../support/consented-code.ts";
import { mcpGatewayVerdict } from "../support/gateway-verdict.ts";
import { ASSERTING_CLIENT, clientAssertion } from "../support/runtime/cimd-host/assertion-signer.ts";
import type { RunningSystem } from "../support/system.ts";

/**
 * More forged requests than the turn holds: MAX_TURN_WAITERS (16) + 8. The constant lives in
 * shared/contracts/replay.ts, which names Workers runtime types this Node project's tsconfig lacks.
 */
const MAX_TURN_WAITERS = 16;
const FLOOD = MAX_TURN_WAITERS + 8;

/** Better Auth's answer to an assertion that does not verify, as the token endpoint restates it (RFC 6749 §5.2). */
const NOT_VERIFIED = {
  status: 401,
  body: { error: "invalid_client", error_description: "client assertion signature verification failed" },
};

/** Assertions naming the code's client that must not verify (RFC 7523 §3). */
const FORGERIES = {
  /** Signed by a key that is not in the client's document, under its key's `kid`. */
  wrongKey: async () => clientAssertion(issuer, { key: (await generateKeyPair("ES256")).privateKey }),
  /** Rule 4: `exp` passed. */
  expired: () => clientAssertion(issuer, { expiresAt: Math.floor(Date.now() / 1000) - 60 }),
  /** Rule 3: made for another server's token endpoint. */
  wrongAudience: () => clientAssertion("https://elsewhere.example.test/oauth2/token"),
} as const;

type Forgery = keyof typeof FORGERIES;

let system: RunningSystem;
let issuer: string;
let resource: string;

assertingClientSystem((started) => {
  ({ system, issuer, resource } = started);
});

const tokenRequest = (fields: Record<string, string>, assertion: string): Promise<Response> =>
  assertedTokenRequest(system, fields, assertion);

async function answer(response: Response) {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const gateway = (token: string): Promise<string> => mcpGatewayVerdict(system, resource, token);

describe("forged private_key_jwt assertions for a live code never fill its turn", { timeout: 180_000 }, () => {
  it(`${FLOOD} forged assertions in flight with the right redemption last: each refused as Better Auth refuses it, the right one gets tokens`, async () => {
    const kinds = Object.keys(FORGERIES) as Forgery[];
    for (let round = 0; round < 3; round++) {
      const fields = await assertingClientCode(system, resource);
      // Half name the client in the body too (RFC 7521 §4.2 leaves client_id optional beside an assertion).
      const forged = await Promise.all(
        Array.from({ length: FLOOD }, async (_, index) => {
          const kind = kinds[index % kinds.length] as Forgery;
          const named: Record<string, string> = index % 2 === 0 ? { client_id: ASSERTING_CLIENT } : {};
          return { kind, form: { ...fields, ...named }, assertion: await FORGERIES[kind]() };
        }),
      );
      const right = await clientAssertion(issuer);
      // The forged ones first, so they are in flight when the right one arrives.
      const responses = await Promise.all([
        ...forged.map(({ form, assertion }) => tokenRequest(form, assertion)),
        tokenRequest(fields, right),
      ]);
      const last = responses.pop() as Response;
      expect(last.status, await last.clone().text()).toBe(200);
      const issued = (await last.json()) as { access_token: string };
      expect(issued.access_token).toEqual(expect.any(String));
      for (const [index, response] of responses.entries()) {
        // Never "grant is being used by another request", and never another answer: Better Auth verifies the
        // assertion before it reads the code, so the answer is the same before or after the code is spent.
        const kind = (forged[index] as (typeof forged)[number]).kind;
        expect({ kind, ...(await answer(response)) }).toEqual({ kind, ...NOT_VERIFIED });
      }
      // No forged request reached Better Auth as a replay: the redemption's grant stands.
      expect(await gateway(issued.access_token)).toBe("allowed");
    }
  });
});
