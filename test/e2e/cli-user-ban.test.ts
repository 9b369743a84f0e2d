// `mono-auth user list|ban|unban` against the locally served system: a
// person who signed up is banned through the CLI; the token their session
// got is refused at the gateway, their session is gone, and signing in
// again is refused (403 USER_BANNED) until the ban is lifted. And a ban
// that races sign-ins and session exchanges leaves nothing usable behind.
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
  operator = await operatorCli(system, "banner");
});
afterAll(() => system?.close());

const password = "correct horse battery staple";

async function sessionToken(person: BrowserLikeClient): Promise<Response> {
  return person.request(ENDPOINT.sessionToken, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ audience: `${system.origin}/api` }),
  });
}

describe("mono-auth user ban", () => {
  it("cuts a person off everywhere until the ban is lifted", async () => {
    const email = `mallory-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const person = new BrowserLikeClient(system);
    const { userId, orgId } = await person.signUp(email, password);
    const exchanged = await sessionToken(person);
    expect(exchanged.status).toBe(200);
    const { access_token } = (await exchanged.json()) as { access_token: string };
    const documents = () => system.fetch(ENDPOINT.documents, { headers: { Authorization: `Bearer ${access_token}` } });
    expect((await documents()).status).toBe(200);

    const members = await operator.json<{ members: { user_id: string; role: string }[] }>(
      "user",
      "list",
      "--org",
      orgId,
    );
    expect(members.members).toEqual([expect.objectContaining({ user_id: userId, role: "owner" })]);

    const ban = await operator.json<{ banned: boolean; revoked_in_orgs: string[]; sessions_ended: number }>(
      "user",
      "ban",
      "--id",
      userId,
      "--reason",
      "abuse",
    );
    expect(ban).toMatchObject({ banned: true, revoked_in_orgs: [orgId], sessions_ended: 1 });
    // Recorded before the answer; the gateway sees it within its staleness bound.
    await expect.poll(async () => (await documents()).status, { timeout: 15_000 }).toBe(401);
    expect((await sessionToken(person)).status).toBe(400);

    const signIn = () => new BrowserLikeClient(system).postJson("/api/auth/sign-in/email", { email, password });
    const blocked = await signIn();
    expect(blocked.status).toBe(403);
    expect(((await blocked.json()) as { code: string }).code).toBe("USER_BANNED");

    await operator.json("user", "unban", "--id", userId);
    expect((await signIn()).status).toBe(200);
    await expectCliRefusal(
      operator.cli("user", "unban", "--id", userId),
      /refused \(404 not_found\): this user is not banned/,
    );
    await expectCliRefusal(operator.cli("user", "ban"), /required option '--id <user_id>'/);
  });

  it("leaves no session and no usable token when it races sign-ins and session exchanges", async () => {
    const email = `mallet-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const { userId } = await new BrowserLikeClient(system).signUp(email, password);
    let banned = false;
    const ban = operator.json<{ banned: boolean }>("user", "ban", "--id", userId).finally(() => {
      banned = true;
    });
    const signIns: Response[] = [];
    const exchanges: Response[] = [];
    const people: BrowserLikeClient[] = [];
    // Two browsers sign in and exchange their sessions over and over until
    // the ban has answered (three sign-ins each at most: the account's
    // sign-in limit is ten a minute, and the sign-up counted one; forty
    // exchanges a session at most).
    const racer = async () => {
      for (let attempt = 0; attempt < 3 && !banned; attempt++) {
        const person = new BrowserLikeClient(system);
        const signedIn = await person.postJson("/api/auth/sign-in/email", { email, password });
        signIns.push(signedIn.clone());
        if (signedIn.status !== 200) return;
        people.push(person);
        for (let exchange = 0; exchange < 40 && !banned; exchange++) {
          const exchanged = await sessionToken(person);
          exchanges.push(exchanged);
          if (exchanged.status !== 200) break;
        }
      }
    };
    await Promise.all([ban, racer(), racer()]);

    // Each sign-in either started a session before the ban or was refused as banned: never a failure of ours.
    for (const answer of signIns) {
      expect([200, 403]).toContain(answer.status);
      if (answer.status === 403) expect(((await answer.json()) as { code: string }).code).toBe("USER_BANNED");
    }
    const tokens: string[] = [];
    for (const answer of exchanges) {
      expect([200, 400]).toContain(answer.status);
      const body = (await answer.json()) as { access_token?: string; error?: string };
      if (answer.status === 200) tokens.push(body.access_token as string);
      else expect(body.error).toBe("invalid_grant");
    }
    // Whatever started before the ban is gone: every session, and every token minted from one.
    for (const person of people) {
      expect(await (await person.request(`${ENDPOINT.authApi}/get-session`)).json()).toBeNull();
      const refused = await sessionToken(person);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toBe("invalid_grant");
    }
    for (const token of tokens) {
      const documents = () => system.fetch(ENDPOINT.documents, { headers: { Authorization: `Bearer ${token}` } });
      await expect.poll(async () => (await documents()).status, { timeout: 15_000 }).toBe(401);
      expect((await documents()).headers.get("WWW-Authenticate")).toMatch(/error="invalid_token"/);
    }
    const late = await new BrowserLikeClient(system).postJson("/api/auth/sign-in/email", { email, password });
    expect(late.status).toBe(403);
    expect(((await late.json()) as { code: string }).code).toBe("USER_BANNED");
  });
});
