// SCIM 2.0 Users (RFC 7644) for one org's directory: provisioning makes a
// Better Auth user and an org membership; deprovisioning ends sessions
// through the session-end revocation; errors are RFC 7644 §3.12 bodies.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { revocations } from "./helpers.ts";
import {
  PATCH_SCHEMA,
  provision,
  scim,
  scimError,
  scimOrg,
  scimUserName,
  startSession,
  USER_SCHEMA,
  userBody,
} from "./scim-helpers.ts";

async function membership(orgId: string, userId: string) {
  return env.DB.prepare("SELECT role FROM member WHERE organization_id = ? AND user_id = ?")
    .bind(orgId, userId)
    .first<{ role: string }>();
}

async function sessionCount(userId: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?")
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

// Each test makes a dozen or more requests, each a few D1 statements: slow on a loaded machine, not wrong.
describe("SCIM Users", { timeout: 30_000 }, () => {
  it("POST creates the person and their org membership; GET and `userName eq` find them", async () => {
    const { orgId, token } = await scimOrg();
    const userName = `Grace.${crypto.randomUUID()}@Corp.Example`;
    const created = await scim("POST", "/Users", token, userBody(userName, { externalId: "ext-1" }));
    expect(created.status).toBe(201);
    expect(created.headers.get("Content-Type")).toBe("application/scim+json");
    const user = (await created.json()) as Record<string, unknown> & { id: string; meta: { location: string } };
    expect(created.headers.get("Location")).toBe(user.meta.location);
    expect(user).toMatchObject({
      schemas: [USER_SCHEMA],
      userName,
      externalId: "ext-1",
      active: true,
      emails: [{ value: userName.toLowerCase(), primary: true, type: "work" }],
      displayName: "Ada Lovelace",
      groups: [],
    });
    expect(await membership(orgId, user.id)).toEqual({ role: "member" });
    const account = await env.DB.prepare("SELECT email, email_verified AS verified FROM user WHERE id = ?")
      .bind(user.id)
      .first();
    // In the org's verified domain, the org's word for the address is its proof (scim/user-store.ts).
    expect(account).toEqual({ email: userName.toLowerCase(), verified: 1 });

    expect(await (await scim("GET", `/Users/${user.id}`, token)).json()).toEqual(user);
    // RFC 7643 §4.1.1: userName is case-insensitive.
    const found = await scim(
      "GET",
      `/Users?filter=${encodeURIComponent(`userName eq "${userName.toUpperCase()}"`)}`,
      token,
    );
    expect(await found.json()).toEqual({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
      totalResults: 1,
      startIndex: 1,
      itemsPerPage: 1,
      Resources: [user],
    });
  });

  it("errors are RFC 7644 §3.12 bodies with the exact status and scimType", async () => {
    const { token } = await scimOrg();
    const noToken = await scim("GET", "/Users", undefined);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');
    expect(await noToken.json()).toEqual(scimError(401, undefined, "a SCIM bearer token is required"));
    // A well-formed token whose secret is wrong.
    const forged = `${token.split(".")[0]}.mas_${"A".repeat(43)}`;
    expect(await (await scim("GET", "/Users", forged)).json()).toEqual(
      scimError(401, undefined, "the SCIM bearer token is not valid"),
    );

    const badFilter = await scim("GET", `/Users?filter=${encodeURIComponent('userName gt "a"')}`, token);
    expect(badFilter.status).toBe(400);
    expect(await badFilter.json()).toEqual(
      scimError(400, "invalidFilter", "filter: gt is not supported; use eq, ne, co, sw, ew or pr"),
    );
    // An Object.prototype name is no attribute: refused, never read as another filter.
    for (const name of ["constructor", "__proto__", "toString"]) {
      const inherited = await scim("GET", `/Users?filter=${encodeURIComponent(`${name} eq "x"`)}`, token);
      expect(inherited.status, name).toBe(400);
      expect(((await inherited.json()) as { scimType?: string }).scimType, name).toBe("invalidFilter");
    }
    const missing = await scim("GET", `/Users/${crypto.randomUUID()}`, token);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual(scimError(404, undefined, "no such User"));
    const noUserName = await scim("POST", "/Users", token, { schemas: [USER_SCHEMA] });
    expect(noUserName.status).toBe(400);
    expect(await noUserName.json()).toEqual(scimError(400, "invalidValue", "userName is required"));
    const notJson = await scim("POST", "/Users", token, undefined, { "Content-Type": "application/scim+json" });
    expect(await notJson.json()).toEqual(scimError(400, "invalidSyntax", "the body is not JSON"));
    const badPath = await scim("PATCH", `/Users/${(await provision(token)).id}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "replace", path: "password", value: "x" }],
    });
    expect(await badPath.json()).toEqual(scimError(400, "invalidPath", "no attribute password"));
  });

  it("a path below the SCIM base that is no endpoint is RFC 7644 §3.12's 404, not the login pages' one", async () => {
    const { token } = await scimOrg();
    // Endpoints RFC 7644 defines that this server does not serve (§3.7 Bulk, §3.11 /Me), and a typo.
    for (const path of ["/Bulk", "/Me", "/ResourceTypes/Device", "/Userz"]) {
      const response = await scim("GET", path, token);
      expect(response.status, path).toBe(404);
      expect(response.headers.get("Content-Type"), path).toBe("application/scim+json");
      expect(await response.json(), path).toEqual(scimError(404, undefined, "no such SCIM endpoint"));
    }
    const posted = await scim("POST", "/Bulk", token, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
    });
    expect(posted.status).toBe(404);
    expect(await posted.json()).toEqual(scimError(404, undefined, "no such SCIM endpoint"));
    // Still authenticated first: a caller without the token learns nothing of which paths exist.
    const anonymous = await scim("GET", "/Bulk", undefined);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual(scimError(401, undefined, "a SCIM bearer token is required"));
  });

  it("two concurrent creates of one userName: exactly one wins, the other is 409 uniqueness", async () => {
    const { token } = await scimOrg();
    const userName = scimUserName();
    const answers = await Promise.all([
      scim("POST", "/Users", token, userBody(userName)),
      scim("POST", "/Users", token, userBody(userName.toUpperCase(), { emails: [{ value: scimUserName() }] })),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const loser = answers.find((a) => a.status === 409) as Response;
    expect(await loser.json()).toEqual(
      scimError(409, "uniqueness", "a User with this userName or email already exists"),
    );
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM scim_user WHERE user_name_key = ?")
      .bind(userName.toLowerCase())
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("active=false ends every session through the session-end revocation and refuses new ones; active=true lifts it", async () => {
    const { orgId, token } = await scimOrg();
    const person = await provision(token);
    const session = await startSession(person.id);
    // auth/session-start.ts makes the person's first org the session's active one.
    expect((session as { activeOrganizationId?: string }).activeOrganizationId).toBe(orgId);

    const off = await scim("PATCH", `/Users/${person.id}`, token, {
      schemas: [PATCH_SCHEMA],
      // Entra ID's form: no path, a string boolean.
      Operations: [{ op: "Replace", value: { active: "False" } }],
    });
    expect(off.status).toBe(200);
    expect(((await off.json()) as { active: boolean }).active).toBe(false);
    expect(await sessionCount(person.id)).toBe(0);
    const entries = await revocations(orgId);
    expect(entries).toContainEqual(expect.objectContaining({ kind: "session", value: session.id }));
    expect(entries).toContainEqual(expect.objectContaining({ kind: "subject", value: person.id }));
    await expect(startSession(person.id)).rejects.toMatchObject({ body: { code: "USER_BANNED" } });

    // A PUT that leaves `active` out does not bring the person back.
    const put = await scim("PUT", `/Users/${person.id}`, token, userBody(person.userName));
    expect(((await put.json()) as { active: boolean }).active).toBe(false);

    const on = await scim("PATCH", `/Users/${person.id}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "replace", path: "active", value: true }],
    });
    expect(((await on.json()) as { active: boolean }).active).toBe(true);
    expect((await startSession(person.id)).userId).toBe(person.id);
  });

  it("changes to other attributes racing a deactivation never bring the person back", async () => {
    const { token } = await scimOrg();
    const change = (id: string, Operations: unknown[]) =>
      scim("PATCH", `/Users/${id}`, token, { schemas: [PATCH_SCHEMA], Operations });
    // Each request reads the person before it writes. Read before the
    // deactivation landed, a profile change wrote back `active: true` and
    // lifted the directory's ban, every answer a 200 (on this runtime, in
    // most rounds of this order: hence several).
    for (let round = 0; round < 4; round++) {
      const person = await provision(token);
      const answers = await Promise.all([
        change(person.id, [{ op: "replace", path: "displayName", value: "Countess" }]),
        change(person.id, [{ op: "replace", path: "active", value: false }]),
        scim("PUT", `/Users/${person.id}`, token, userBody(person.userName, { displayName: "Ada" })),
      ]);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      const after = (await (await scim("GET", `/Users/${person.id}`, token)).json()) as { active: boolean };
      expect(after.active, `round ${round}`).toBe(false);
      await expect(startSession(person.id)).rejects.toMatchObject({ body: { code: "USER_BANNED" } });
    }
  });

  it("DELETE ends the sessions (revoked), then removes the person; the resource is gone", async () => {
    const { orgId, token } = await scimOrg();
    const person = await provision(token);
    const session = await startSession(person.id);
    const deleted = await scim("DELETE", `/Users/${person.id}`, token);
    expect(deleted.status).toBe(204);
    expect(await revocations(orgId)).toContainEqual(expect.objectContaining({ kind: "session", value: session.id }));
    expect(await env.DB.prepare("SELECT id FROM user WHERE id = ?").bind(person.id).first()).toBeNull();
    expect(await env.DB.prepare("SELECT user_id FROM user_ban WHERE user_id = ?").bind(person.id).first()).toBeNull();
    expect((await scim("GET", `/Users/${person.id}`, token)).status).toBe(404);
    expect((await scim("DELETE", `/Users/${person.id}`, token)).status).toBe(404);
    // Each change is audited in the org, the token's id as actor, never the token.
    const audited = async () =>
      (
        await env.AUDIT_DB.prepare(
          "SELECT outcome, actor, detail FROM audit_event WHERE kind = 'scim.action' AND org_id = ? ORDER BY rowid",
        )
          .bind(orgId)
          .all<{ outcome: string; actor: string; detail: string }>()
      ).results;
    await expect.poll(async () => (await audited()).length).toBe(3);
    const events = await audited();
    expect(events.map((e) => [e.outcome, JSON.parse(e.detail).method, JSON.parse(e.detail).status])).toEqual([
      ["recorded", "POST", 201],
      ["recorded", "DELETE", 204],
      ["refused", "DELETE", 404],
    ]);
    expect(events[0]?.actor).toBe(`scim:${token.split(".")[0]}`);
    expect(JSON.stringify(events)).not.toContain(token.split(".")[1]);
  });

  it("PUT replaces the person's attributes and email; a taken email is 409 uniqueness", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    const other = await provision(token);
    const email = scimUserName();
    const put = await scim("PUT", `/Users/${person.id}`, token, {
      schemas: [USER_SCHEMA],
      userName: person.userName,
      displayName: "Countess",
      emails: [{ value: email, primary: true }],
    });
    expect(await put.json()).toMatchObject({ displayName: "Countess", emails: [{ value: email }], name: {} });
    const taken = await scim("PUT", `/Users/${person.id}`, token, {
      schemas: [USER_SCHEMA],
      userName: person.userName,
      emails: [{ value: other.userName }],
    });
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as { scimType: string }).scimType).toBe("uniqueness");
  });
});
