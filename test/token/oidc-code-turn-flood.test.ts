import { describe, expect, it } from "vitest";
import { MAX_TURN_WAITERS } from "../../shared/contracts/replay.ts";
import { pkce } from "../support/runtime/browser-oidc.ts";
import { authorized, revokedInOrg, tokens } from "./oidc-grant-fixtures.ts";
import { oidc } from "./oidc-fixture.ts";

// A code's turn (workers/token/src/oidc/grant-turns.ts) holds MAX_TURN_WAITERS requests and refuses any more
// at once. Requests the authn Worker's pre-checks refuse (RFC 6749 §4.1.3: no client named; RFC 7636 §4.6: a
// public client's wrong or missing code_verifier) are refused before they take it
// (workers/token/src/oidc/forward-browser-grant.ts), so whoever holds an intercepted live code cannot keep
// its turn full and fail the person's own redemption.

const REFUSALS = {
  noClient: { status: 400, body: { error: "invalid_request", error_description: "client_id is required" } },
  wrongVerifier: { status: 400, body: { error: "invalid_grant", error_description: "code verification failed" } },
  noVerifier: {
    status: 400,
    body: { error: "invalid_request", error_description: "Either code_verifier or client_secret is required" },
  },
} as const;

type Refusal = keyof typeof REFUSALS;

/** More refused requests than the turn holds, of each kind in turn. */
const FLOOD = MAX_TURN_WAITERS + 8;

async function answer(response: Response) {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function without(fields: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => key !== name));
}

/** A refused request's form for a public client's live code whose right redemption is `fields`. */
async function refusedForm(kind: Refusal, fields: Record<string, string>): Promise<Record<string, string>> {
  if (kind === "noClient") return without(fields, "client_id");
  if (kind === "noVerifier") return without(fields, "code_verifier");
  return { ...fields, code_verifier: (await pkce()).verifier };
}

describe("a flood of refused requests for a live code never fills its turn", () => {
  it(`${FLOOD} refused requests in flight with the right redemption last: each gets its own refusal, the right one tokens`, async () => {
    const kinds = Object.keys(REFUSALS) as Refusal[];
    for (let round = 0; round < 3; round++) {
      const person = await oidc.signUp();
      const client = await oidc.browserClient({ type: "public" });
      const fields = { ...(await authorized(person, client)), client_id: client.clientId };
      const refused = await Promise.all(
        Array.from({ length: FLOOD }, async (_, index) => {
          const kind = kinds[index % kinds.length] as Refusal;
          return { kind, form: await refusedForm(kind, fields) };
        }),
      );
      // The refused ones first, so they are in flight when the right one arrives.
      const responses = await Promise.all([
        ...refused.map(({ form }) => oidc.tokenRequest(form)),
        oidc.tokenRequest(fields),
      ]);
      const issued = await tokens(responses.pop() as Response);
      let replayed = false;
      expect(issued.access_token).toEqual(expect.any(String));
      for (const [index, response] of responses.entries()) {
        // Never "grant is being used by another request": none of them took the code's turn.
        const kind = (refused[index] as (typeof refused)[number]).kind;
        const got = await answer(response);
        if (kind === "wrongVerifier" && got.body.error_description === "invalid code") {
          // Its check ran after the right one had spent the code: then it is the public client's replay
          // (RFC 6749 §4.1.2), refused as such, which ends the grant; the scheduler decides, not the fix.
          expect(got).toEqual({ status: 400, body: { error: "invalid_grant", error_description: "invalid code" } });
          replayed = true;
        } else {
          expect(got).toEqual(REFUSALS[kind]);
        }
      }
      // Redeemed once, by the right request: unless a late wrong verifier replayed it, no replay ended its grant.
      if (!replayed) expect(await revokedInOrg(issued.access_token)).toBe(false);
    }
  });
});
