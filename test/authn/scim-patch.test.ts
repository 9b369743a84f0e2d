// SCIM requests as directories write them (workers/authn/src/scim/patch.ts,
// resources.ts): PATCH paths qualified with the core schema URN (RFC 7644
// §3.10), attribute names in any case (RFC 7643 §2.1), filtered emails paths.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  GROUP_SCHEMA,
  PATCH_SCHEMA,
  provision,
  SCIM_DOMAIN,
  scim,
  scimError,
  scimOrg,
  scimUserName,
  startSession,
  USER_SCHEMA,
} from "./scim-helpers.ts";

const USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group";

function patch(...Operations: unknown[]) {
  return { schemas: [PATCH_SCHEMA], Operations };
}

async function sessionCount(userId: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?")
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("SCIM PATCH paths", { timeout: 60_000 }, () => {
  it("a path qualified with the core schema URN is that attribute; userName is required, id, meta and groups read-only", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    await startSession(person.id);

    // Read as an extension attribute this answered 200 and left the person active and signed in.
    const off = await scim(
      "PATCH",
      `/Users/${person.id}`,
      token,
      patch({ op: "replace", path: `${USER_URN}:active`, value: false }),
    );
    expect(off.status).toBe(200);
    expect(((await off.json()) as { active: boolean }).active).toBe(false);
    expect(await sessionCount(person.id)).toBe(0);
    await expect(startSession(person.id)).rejects.toMatchObject({ body: { code: "USER_BANNED" } });

    const removed = await scim(
      "PATCH",
      `/Users/${person.id}`,
      token,
      patch({ op: "remove", path: `${USER_URN}:userName` }),
    );
    expect(removed.status).toBe(400);
    expect(await removed.json()).toEqual(
      scimError(400, "mutability", `${USER_URN}:userName is required and cannot be removed`),
    );
    const unknown = await scim(
      "PATCH",
      `/Users/${person.id}`,
      token,
      patch({ op: "replace", path: `${USER_URN}:password`, value: "x" }),
    );
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual(scimError(400, "invalidPath", `no attribute ${USER_URN}:password`));
    // RFC 7644 §3.5.2: a readOnly attribute is mutability, not an unknown path.
    for (const path of ["groups", "id", "meta.created", `${USER_URN}:groups[value eq "x"]`]) {
      const readOnly = await scim("PATCH", `/Users/${person.id}`, token, patch({ op: "replace", path, value: "x" }));
      expect(readOnly.status, path).toBe(400);
      expect(await readOnly.json(), path).toEqual(scimError(400, "mutability", `${path} is read-only`));
    }
  });

  it("a core attribute this server does not keep is passed over, as POST and PUT do; the rest of the PATCH lands", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    await startSession(person.id);
    expect(await sessionCount(person.id)).toBe(1);
    // What Microsoft Entra sends beside `active`: attributes of RFC 7643 §4.1 this server does not store.
    const response = await scim(
      "PATCH",
      `/Users/${person.id}`,
      token,
      patch(
        { op: "Add", path: "title", value: "Engineer" },
        { op: "Replace", path: 'addresses[type eq "work"].formatted', value: "1 Main St" },
        { op: "Add", path: "phoneNumbers", value: [{ type: "work", value: "+1 555 0100" }] },
        { op: "Replace", path: `${USER_URN}:preferredLanguage`, value: "en" },
        { op: "Replace", path: "name.formatted", value: "Ada Lovelace" },
        { op: "Add", value: { nickName: "ada", displayName: "Ada L." } },
        { op: "Remove", path: "roles" },
        { op: "Replace", path: "active", value: false },
      ),
    );
    expect(response.status, await response.clone().text()).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ active: false, displayName: "Ada L." });
    expect(body).not.toHaveProperty("title");
    expect(await sessionCount(person.id)).toBe(0);
    // A name no schema has is still 400 invalidPath, and the password is never taken as set.
    for (const path of ["shoeSize", "password"]) {
      const refused = await scim("PATCH", `/Users/${person.id}`, token, patch({ op: "replace", path, value: "x" }));
      expect(await refused.json(), path).toEqual(scimError(400, "invalidPath", `no attribute ${path}`));
    }
  });

  it("a Group's qualified members path removes the member, and with them the admin role", async () => {
    const { orgId, token } = await scimOrg();
    const person = await provision(token);
    const created = await scim("POST", "/Groups", token, {
      schemas: [GROUP_SCHEMA],
      displayName: "admin",
      members: [{ value: person.id }],
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const role = async () =>
      (
        await env.DB.prepare("SELECT role FROM member WHERE organization_id = ? AND user_id = ?")
          .bind(orgId, person.id)
          .first<{ role: string }>()
      )?.role;
    expect(await role()).toBe("admin");

    const removed = await scim(
      "PATCH",
      `/Groups/${id}`,
      token,
      patch({ op: "remove", path: `${GROUP_URN}:members[value eq "${person.id}"]` }),
    );
    expect(removed.status).toBe(200);
    expect(((await removed.json()) as { members: unknown[] }).members).toEqual([]);
    expect(await role()).toBe("member");
  });

  it("attribute names are case-insensitive: a PUT's `Active: false` deprovisions; a name given twice is 400 invalidSyntax", async () => {
    const { token } = await scimOrg();
    const userName = scimUserName();
    const email = scimUserName();
    const created = await scim("POST", "/Users", token, {
      Schemas: [USER_SCHEMA],
      UserName: userName,
      Name: { GivenName: "Grace" },
      Emails: [{ Value: email, Primary: true }],
    });
    expect(created.status).toBe(201);
    const person = (await created.json()) as { id: string };
    expect(person).toMatchObject({ userName, name: { givenName: "Grace" }, emails: [{ value: email }] });
    await startSession(person.id);

    // Read by exact case this answered 200 and left the person active and signed in.
    const off = await scim("PUT", `/Users/${person.id}`, token, { schemas: [USER_SCHEMA], userName, Active: false });
    expect(off.status).toBe(200);
    expect(((await off.json()) as { active: boolean }).active).toBe(false);
    expect(await sessionCount(person.id)).toBe(0);

    const on = await scim("PATCH", `/Users/${person.id}`, token, {
      SCHEMAS: [PATCH_SCHEMA],
      operations: [{ OP: "Replace", Path: "ACTIVE", Value: true }],
    });
    expect(on.status).toBe(200);
    expect(((await on.json()) as { active: boolean }).active).toBe(true);

    const twice = await scim("PUT", `/Users/${person.id}`, token, {
      schemas: [USER_SCHEMA],
      userName,
      active: true,
      ACTIVE: false,
    });
    expect(twice.status).toBe(400);
    expect(await twice.json()).toEqual(scimError(400, "invalidSyntax", "the attribute active is given more than once"));
    const patchedTwice = await scim("PATCH", `/Users/${person.id}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "replace", value: { active: true, Active: false } }],
    });
    expect(patchedTwice.status).toBe(400);
    expect(await patchedTwice.json()).toEqual(
      scimError(400, "invalidSyntax", "the attribute active is given more than once"),
    );
  });

  it("an add or remove through an emails filter for another type than the work address changes nothing; a malformed filter is 400 invalidFilter", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    const address = async () =>
      (await env.DB.prepare("SELECT email FROM user WHERE id = ?").bind(person.id).first<{ email: string }>())?.email;
    const home = `${crypto.randomUUID()}@gmail.example`;
    const work = scimUserName();

    // Entra ID maps a home email too: read as the account's address it failed the whole PATCH (400 invalidValue).
    const both = await scim(
      "PATCH",
      `/Users/${person.id}`,
      token,
      patch(
        { op: "replace", path: 'emails[type eq "work"].value', value: work },
        { op: "add", path: 'emails[type eq "home"].value', value: home },
        { op: "remove", path: 'emails[type eq "home"].value' },
      ),
    );
    expect(both.status).toBe(200);
    expect(await address()).toBe(work);

    const byValue = `v-${crypto.randomUUID()}@eu.${SCIM_DOMAIN}`;
    const replaced = await scim(
      "PATCH",
      `/Users/${person.id}`,
      token,
      patch({ op: "replace", path: `emails[value eq "${work.toUpperCase()}"].value`, value: byValue }),
    );
    expect(replaced.status).toBe(200);
    expect(await address()).toBe(byValue);

    const removeWork = await scim(
      "PATCH",
      `/Users/${person.id}`,
      token,
      patch({ op: "remove", path: "emails[primary eq true].value" }),
    );
    expect(removeWork.status).toBe(400);
    expect(await removeWork.json()).toEqual(
      scimError(400, "mutability", "emails[primary eq true].value is required and cannot be removed"),
    );
    for (const path of ['emails[display co "x"].value', 'emails[type eq "work" or type eq "home"].value']) {
      const malformed = await scim("PATCH", `/Users/${person.id}`, token, patch({ op: "replace", path, value: work }));
      expect(malformed.status, path).toBe(400);
      expect(await malformed.json(), path).toEqual(
        scimError(
          400,
          "invalidFilter",
          'an emails filter must be one `type eq "…"`, `value eq "…"` or `primary eq true`',
        ),
      );
    }

    // A PUT's list without a primary: the work address, not the first.
    const put = await scim("PUT", `/Users/${person.id}`, token, {
      schemas: [USER_SCHEMA],
      userName: person.userName,
      emails: [
        { type: "home", value: home },
        { type: "Work", value: work },
      ],
    });
    expect(put.status).toBe(200);
    expect(await address()).toBe(work);
  });
});
