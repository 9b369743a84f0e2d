// Hostile requests over HTTP against the whole system: a token minted while
// org A was active must die with its session, whatever the session's active
// org is by the time it ends, and a removed member's token must die with the
// membership. The gateway reads revocations with no staleness window here,
// so a revoked token is refused on the next request (polled, never timed).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserLikeClient } from "../support/browser-like-client.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;

beforeAll(async () => {
  system = await startSystem({ gatewayVars: { REVOCATION_MAX_STALENESS_MS: "0" } });
});
afterAll(() => system?.close());

/** A client address of its own (RFC 5737 TEST-NET-3), so each person has their own attempt budget. */
function address(): string {
  const [a] = crypto.getRandomValues(new Uint8Array(1)) as unknown as [number];
  return `203.0.113.${a}`;
}

async function person() {
  const client = new BrowserLikeClient(system, { clientAddress: address() });
  const email = `revoke-${crypto.randomUUID()}@example.com`;
  const ids = await client.signUp(email);
  return { client, email, ...ids };
}

async function token(client: BrowserLikeClient): Promise<string> {
  const response = await client.exchangeSessionForToken();
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

function documents(accessToken: string) {
  return system.fetch("/api/documents", { headers: { Authorization: `Bearer ${accessToken}` } });
}

/** What the gateway answers a token with: its status, challenge error and error code. */
async function gatewayVerdict(accessToken: string) {
  const response = await documents(accessToken);
  if (response.status === 200) {
    await response.arrayBuffer();
    return { status: 200 };
  }
  const body = (await response.json()) as { error: string; error_description: string };
  return {
    status: response.status,
    challenge: /error="([^"]+)"/.exec(response.headers.get("WWW-Authenticate") ?? "")?.[1],
    error: body.error,
    code: body.error_description.split(":")[0],
  };
}

async function expectAccepted(accessToken: string) {
  expect(await gatewayVerdict(accessToken)).toEqual({ status: 200 });
}

async function expectRevoked(accessToken: string) {
  await expect
    .poll(() => gatewayVerdict(accessToken))
    .toEqual({ status: 401, challenge: "invalid_token", error: "invalid_token", code: "ERR_TOKEN_REVOKED" });
}

async function signOut(client: BrowserLikeClient) {
  const response = await client.postJson("/api/auth/sign-out", {});
  expect(response.status).toBe(200);
}

async function setActive(client: BrowserLikeClient, organizationId: string | null) {
  return client.postJson("/api/auth/organization/set-active", { organizationId });
}

describe("a token minted while org A was active dies with its session", () => {
  it("(a) after the active org was switched to org B", async () => {
    const alice = await person();
    const minted = await token(alice.client);
    const orgB = await alice.client.postJson("/api/auth/organization/create", {
      name: "Org B",
      slug: `org-b-${crypto.randomUUID().slice(0, 8)}`,
    });
    expect(orgB.status).toBe(200);
    const { id: orgBId } = (await orgB.json()) as { id: string };
    expect((await alice.client.session()).activeOrganizationId).toBe(orgBId);
    await expectAccepted(minted);

    await signOut(alice.client);
    await expectRevoked(minted);
  });

  it("(b) after the active org was unset (organizationId: null)", async () => {
    const alice = await person();
    const minted = await token(alice.client);
    expect((await setActive(alice.client, null)).status).toBe(200);
    expect((await alice.client.session()).activeOrganizationId).toBeNull();
    await expectAccepted(minted);

    await signOut(alice.client);
    await expectRevoked(minted);
  });

  it("(c) after a refused switch to another person's org", async () => {
    const alice = await person();
    const mallory = await person();
    const minted = await token(alice.client);
    const refused = await setActive(alice.client, mallory.orgId);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    await expectAccepted(minted);

    await signOut(alice.client);
    await expectRevoked(minted);
  });

  it("(d) when the member is removed from the org (no sign-out needed)", async () => {
    const owner = await person();
    const member = await person();
    const invite = await owner.client.postJson("/api/auth/organization/invite-member", {
      email: member.email,
      role: "member",
      organizationId: owner.orgId,
    });
    expect(invite.status).toBe(200);
    const { id: invitationId } = (await invite.json()) as { id: string };
    // Accepting needs the invited address verified (GHSA-fmh4-wcc4-5jm3,
    // test/authn/org-invitation.test.ts); this test is about what removal revokes.
    await system.execMain("UPDATE user SET email_verified = 1 WHERE email = ?", member.email);
    expect((await member.client.postJson("/api/auth/organization/accept-invitation", { invitationId })).status).toBe(
      200,
    );
    expect((await setActive(member.client, owner.orgId)).status).toBe(200);
    const minted = await token(member.client);
    await expectAccepted(minted);

    const removal = await owner.client.postJson("/api/auth/organization/remove-member", {
      memberIdOrEmail: member.email,
      organizationId: owner.orgId,
    });
    expect(removal.status).toBe(200);
    await expectRevoked(minted);
    // Nor can the removed member mint a new one for that org.
    const again = await member.client.exchangeSessionForToken();
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toBe("invalid_grant");
  });
});
