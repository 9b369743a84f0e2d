// A token's sub, org_id and act.sub reach downstream services as X-User-ID,
// X-Org-ID and X-Actor-ID (RFC 9110 §5.5: no control character, no edge
// whitespace; shared/contracts/headers.ts), and the gateway refuses a token
// whose claims are not such values. The token Worker never signs one from
// ids it does not mint itself: Better Auth's rows (the session exchange) and
// a subject token of ours signed before its signers held to that.
import { env, exports } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { member, organization, session, user } from "../../shared/db/schema.ts";
import { clientToken } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError } from "./fixtures.ts";
import { delegationParams, exchange, grantDelegation, orgWithAgent, userToken } from "./token-exchange-fixtures.ts";

/** The token exchange's refusal: the verifier's stable code, as for any claim it cannot accept. */
const REFUSED = "subject_token: ERR_TOKEN_CLAIM_INVALID: token claim invalid";

/** Ids as Better Auth's rows could hold them, none a header value as it stands. */
const UNSAFE_SUFFIXES = ["\r\nX-User-ID: admin", "\u0000", "\t"];

/** A person of the org whose user id is `userId`, written as Better Auth writes one. */
async function seedPerson(orgId: string, userId: string): Promise<void> {
  const id = crypto.randomUUID();
  const now = new Date();
  const db = drizzle(env.DB);
  await db.insert(user).values({
    id: userId,
    name: "Test",
    email: `${id}@example.com`,
    emailVerified: false,
    createdAt: now,
    updatedAt: now,
  });
  await db.insert(member).values({ id: `m-${id}`, organizationId: orgId, userId, role: "member", createdAt: now });
}

/** A live session of the person, active in the org: its token. */
async function seedSessionOf(userId: string, orgId: string): Promise<string> {
  const id = crypto.randomUUID();
  const now = new Date();
  await drizzle(env.DB)
    .insert(session)
    .values({
      id: `s-${id}`,
      token: `session-token-${id}`,
      userId,
      expiresAt: new Date(Date.now() + 3_600_000),
      createdAt: now,
      updatedAt: now,
      activeOrganizationId: orgId,
    });
  return `session-token-${id}`;
}

async function seedOrg(orgId: string): Promise<void> {
  await drizzle(env.DB)
    .insert(organization)
    .values({ id: orgId, name: "Org", slug: `org-${crypto.randomUUID()}`, createdAt: new Date() });
}

describe("TokenService.exchangeSession: a user or org id that is no header value", () => {
  it("invalid_grant, no token, for a user id or org id with a control character or edge whitespace", async () => {
    for (const suffix of UNSAFE_SUFFIXES) {
      for (const unsafe of ["user", "org"] as const) {
        const id = crypto.randomUUID();
        const userId = unsafe === "user" ? `user-${id}${suffix}` : `user-${id}`;
        const orgId = unsafe === "org" ? `org-${id}${suffix}` : `org-${id}`;
        await seedOrg(orgId);
        await seedPerson(orgId, userId);
        const result = await exports.TokenService.exchangeSession({
          sessionToken: await seedSessionOf(userId, orgId),
          audience: AUDIENCE,
        });
        expect(result).toEqual({
          status: 400,
          body: {
            error: "invalid_grant",
            error_description: "the session's user or organization id is not usable in a token",
          },
        });
      }
    }
    // The same rows with usable ids mint: only the ids were refused.
    const id = crypto.randomUUID();
    await seedOrg(`org-${id}`);
    await seedPerson(`org-${id}`, `user-${id}`);
    const minted = await exports.TokenService.exchangeSession({
      sessionToken: await seedSessionOf(`user-${id}`, `org-${id}`),
      audience: AUDIENCE,
    });
    expect(minted.status).toBe(200);
  });
});

describe("token exchange (RFC 8693): a subject token of ours whose sub, org_id or act.sub is no header value", () => {
  // RFC 8693 §2.2.2: a subject token unacceptable for any reason is invalid_request.
  it("invalid_request, even with a live delegation grant for that subject", async () => {
    const { orgId, agent } = await orgWithAgent();
    for (const suffix of UNSAFE_SUFFIXES) {
      const userId = `user-${crypto.randomUUID()}${suffix}`;
      await seedPerson(orgId, userId);
      await grantDelegation(orgId, userId, agent);
      // Signed with our key as a token of before the signers' check would be.
      const subject = await userToken(orgId, userId, { audience: AUDIENCE });
      const body = await expectOAuthError(
        await exchange(agent, delegationParams(subject, await clientToken(agent))),
        400,
        "invalid_request",
      );
      expect(body.error_description).toBe(REFUSED);
    }
    const person = `user-${crypto.randomUUID()}`;
    await seedPerson(orgId, person);
    await grantDelegation(orgId, person, agent);
    const chained = await userToken(orgId, person, { audience: AUDIENCE, actor: { sub: " agent" } });
    const body = await expectOAuthError(
      await exchange(agent, delegationParams(chained, await clientToken(agent))),
      400,
      "invalid_request",
    );
    expect(body.error_description).toBe(REFUSED);
  });
});
