// `mono-auth user sessions|sign-out|remove|role` against the locally served
// system: an operator lists a person's sessions (never a session token),
// signs them out everywhere without a ban (the token their session got is
// refused at the gateway, the session is gone, and they may sign in again),
// and removes a member or changes a role, the org's last owner kept.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { BrowserLikeClient } from "../support/browser-like-client.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";
import { expectCliRefusal } from "../support/cli-refusal.ts";

let system: RunningSystem;
let operator: OperatorCli;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "sessions");
});
afterAll(() => system?.close());

const password = "correct horse battery staple";
const email = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}@example.com`;

describe("mono-auth user sessions and sign-out", () => {
  it("lists a person's sessions and signs them out everywhere, without banning them", async () => {
    const address = email("ada");
    const person = new BrowserLikeClient(system);
    const { userId, orgId } = await person.signUp(address, password);
    const exchanged = await person.request(ENDPOINT.sessionToken, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ audience: `${system.origin}/api` }),
    });
    expect(exchanged.status).toBe(200);
    const { access_token } = (await exchanged.json()) as { access_token: string };
    const documents = () => system.fetch(ENDPOINT.documents, { headers: { Authorization: `Bearer ${access_token}` } });
    expect((await documents()).status).toBe(200);

    const listed = await operator.json<{ sessions: Record<string, unknown>[] }>("user", "sessions", "--id", userId);
    expect(listed.sessions).toHaveLength(1);
    expect(Object.keys(listed.sessions[0] ?? {})).not.toContain("token");
    expect(listed.sessions[0]).toMatchObject({ active_organization_id: orgId });

    const signedOut = await operator.json<{ revoked_in_orgs: string[]; sessions_ended: number }>(
      "user",
      "sign-out",
      "--id",
      userId,
    );
    expect(signedOut).toEqual({ user_id: userId, revoked_in_orgs: [orgId], sessions_ended: 1 });
    // Recorded before the answer; the gateway sees it within its staleness bound.
    await expect.poll(async () => (await documents()).status, { timeout: 15_000 }).toBe(401);
    expect(await (await person.request(`${ENDPOINT.authApi}/get-session`)).json()).toBeNull();
    expect((await operator.json<{ sessions: unknown[] }>("user", "sessions", "--id", userId)).sessions).toEqual([]);
    // Not a ban: they sign in again.
    const again = await new BrowserLikeClient(system).postJson("/api/auth/sign-in/email", { email: address, password });
    expect(again.status).toBe(200);

    await expectCliRefusal(
      operator.cli("user", "sign-out", "--id", "nobody"),
      /refused \(404 not_found\): no such user/,
    );
    await expectCliRefusal(operator.cli("user", "sessions"), /required option '--id <user_id>'/);
  });
});

describe("mono-auth user remove and role", () => {
  it("demotes and removes a member; the last owner stays", async () => {
    const { userId: owner, orgId } = await new BrowserLikeClient(system).signUp(email("owner"), password);
    const { userId: colleague } = await new BrowserLikeClient(system).signUp(email("colleague"), password);
    await system.execMain(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'admin', ?)",
      `m-${crypto.randomUUID()}`,
      orgId,
      colleague,
      Date.now(),
    );

    const demoted = await operator.json("user", "role", "--id", colleague, "--org", orgId, "--role", "member");
    expect(demoted).toEqual({
      org_id: orgId,
      user_id: colleague,
      role: "member",
      previous_role: "admin",
      revoked: true,
    });
    await expectCliRefusal(
      operator.cli("user", "role", "--id", colleague, "--org", orgId, "--role", "superuser"),
      /argument 'superuser' is invalid/,
    );
    await expectCliRefusal(
      operator.cli("user", "role", "--id", owner, "--org", orgId, "--role", "admin"),
      /refused \(409 conflict\): the organization's last owner/,
    );
    await expectCliRefusal(
      operator.cli("user", "remove", "--id", owner, "--org", orgId),
      /refused \(409 conflict\): the organization's last owner/,
    );

    const removed = await operator.json("user", "remove", "--id", colleague, "--org", orgId);
    expect(removed).toEqual({ org_id: orgId, user_id: colleague, role: null, previous_role: "member", revoked: true });
    const members = await operator.json<{ members: { user_id: string; role: string }[] }>(
      "user",
      "list",
      "--org",
      orgId,
    );
    expect(members.members).toEqual([expect.objectContaining({ user_id: owner, role: "owner" })]);
    await expectCliRefusal(
      operator.cli("user", "remove", "--id", colleague, "--org", orgId),
      /refused \(404 not_found\): this person is not a member/,
    );
  });
});
