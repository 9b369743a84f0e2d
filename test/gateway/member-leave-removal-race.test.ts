// An org admin's remove-member and the member's own leave, fired at once
// through the gateway to the real authn Worker. Each records the person's
// `subject` cut-off before its delete and owes a second from there (D1
// `owed_member_cutoff`): the removal in its own write's batch
// (workers/authn/src/revocation/membership-revocation.ts), the leave before
// Better Auth's delete (revocation/endpoint-hooks.ts), a row a concurrent
// change skips while the person is still a member (owedMemberCutoffsFor,
// which test/token/admin-member-owed-cutoff.test.ts drives through the admin
// API). Whichever lands first, the person ends cut off exactly once, their
// token refused at the gateway, nothing owed, and neither answer a 500.
//
// Here, not in test/authn: this project runs the authn Worker behind the
// gateway (vitest.config.ts), so test/authn/helpers.ts's calls, sent to this
// project's own Worker, take the public path, and the token's refusal is the
// gateway's own.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { accessToken, api, ORIGIN, owedCutoffs, revocations, signUp } from "../authn/helpers.ts";
import { gatewayFetch } from "./signed-token.ts";

const ROUNDS = 8;

type Person = Awaited<ReturnType<typeof signUp>>;

/** A person in the org with `role`, as Better Auth's addMember writes them. */
async function addMember(orgId: string, person: Person, role: string): Promise<void> {
  await env.DB.prepare("INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)")
    .bind(crypto.randomUUID(), orgId, person.userId, role, Date.now())
    .run();
}

async function isMember(orgId: string, userId: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT 1 FROM member WHERE organization_id = ? AND user_id = ?")
    .bind(orgId, userId)
    .first();
  return row !== null;
}

function documents(token: string): Promise<Response> {
  return gatewayFetch(`${ORIGIN}${ENDPOINT.documents}`, { headers: { Authorization: `Bearer ${token}` } });
}

/** RFC 6750 §3.1 `invalid_token`, in the challenge and in the body, with the revocation's code. */
async function expectRevoked(response: Response): Promise<void> {
  expect(response.status).toBe(401);
  expect(response.headers.get("WWW-Authenticate")).toMatch(
    /^Bearer realm="mono-auth", error="invalid_token", error_description="ERR_TOKEN_REVOKED:/,
  );
  expect(await response.json()).toMatchObject({
    error: "invalid_token",
    error_description: expect.stringMatching(/^ERR_TOKEN_REVOKED:/),
  });
}

/** An answer as status and Better Auth's error code (none on a 200). */
async function outcome(response: Response): Promise<{ status: number; code?: string }> {
  const body = (await response.json()) as { code?: string };
  return response.status === 200 ? { status: 200 } : { status: response.status, code: body.code };
}

/**
 * The two answers a race may give: a request that found the member gone
 * before its own lookup is Better Auth's 400 MEMBER_NOT_FOUND; one that
 * found it but lost the delete still answers 200 (the removal's conditional
 * delete changes nothing and no owner was at stake: auth/last-owner.ts).
 */
const WON = { status: 200 };
const FOUND_GONE = { status: 400, code: "MEMBER_NOT_FOUND" };

/** An owner's org with an admin and a member, whose session is in that org and whose token the gateway accepts. */
async function orgWithMember() {
  const owner = await signUp("Owner");
  const admin = await signUp("Admin");
  const person = await signUp("Member");
  const orgId = owner.orgId;
  await addMember(orgId, admin, "admin");
  await addMember(orgId, person, "member");
  const active = await api("/organization/set-active", { organizationId: orgId }, { Cookie: person.cookie });
  expect(active.status).toBe(200);
  const token = await accessToken(person.cookie);
  expect((await documents(token)).status).toBe(200);
  return { orgId, owner, admin, person, token };
}

/**
 * The leave sent first, the removal once the leave's row is in D1 (or the
 * leave has answered, if its row came and went between two reads): the
 * removal then lands between the leave's before hook and its delete, or
 * after it.
 */
async function removalDuringLeave(
  orgId: string,
  removal: () => Promise<Response>,
  leave: () => Promise<Response>,
): Promise<[Response, Response]> {
  let answered = false;
  const leaving = leave().finally(() => {
    answered = true;
  });
  while (!answered && (await owedCutoffs(orgId)) === 0) {
    // A macrotask turn between reads: chained D1 reads alone kept the
    // leave's request from running in workerd.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return Promise.all([removal(), leaving]);
}

describe("an admin's remove-member and the member's own leave, fired at once", () => {
  it(`cut the person off exactly once and leave nothing owed, whichever wins (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { orgId, owner, admin, person, token } = await orgWithMember();
      const removal = () =>
        api(
          "/organization/remove-member",
          { memberIdOrEmail: person.email, organizationId: orgId },
          { Cookie: admin.cookie },
        );
      const leave = () => api("/organization/leave", { organizationId: orgId }, { Cookie: person.cookie });
      // Even rounds: both sent in the same tick. Odd rounds: the removal sent
      // the moment the leave's before hook has written its owed row (polled in
      // D1, not timed), so it races Better Auth's delete of the leave.
      const [removed, left] =
        round % 2 === 0 ? await Promise.all([removal(), leave()]) : await removalDuringLeave(orgId, removal, leave);

      const answers = [await outcome(removed), await outcome(left)];
      for (const answer of answers) expect([WON, FOUND_GONE]).toContainEqual(answer);
      expect(answers).toContainEqual(WON);

      expect(await isMember(orgId, person.userId)).toBe(false);
      // One `subject` cut-off, the person's: the owner and the admin keep their tokens.
      const subjects = (await revocations(orgId)).filter((e) => e.kind === "subject").map((e) => e.value);
      expect(subjects).toEqual([person.userId]);
      expect(await owedCutoffs(orgId)).toBe(0);
      await expectRevoked(await documents(token));
      expect(await isMember(orgId, owner.userId)).toBe(true);
      expect(await isMember(orgId, admin.userId)).toBe(true);
    }
  });
});
