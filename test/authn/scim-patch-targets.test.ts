// PATCH operations whose value filter (RFC 7644 §3.5.2 valuePath) matches
// nothing, or names one member of a Group (workers/authn/src/scim/patch.ts):
// a replace is 400 noTarget (§3.5.2.3), a remove changes nothing (§3.5.2.2),
// and a Group member can be exchanged for another through its filter.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GROUP_SCHEMA, PATCH_SCHEMA, provision, SCIM_DOMAIN, scim, scimError, scimOrg } from "./scim-helpers.ts";

function patch(...Operations: unknown[]) {
  return { schemas: [PATCH_SCHEMA], Operations };
}

async function address(userId: string) {
  return (await env.DB.prepare("SELECT email FROM user WHERE id = ?").bind(userId).first<{ email: string }>())?.email;
}

async function groupWith(token: string, memberIds: string[]) {
  const created = await scim("POST", "/Groups", token, {
    schemas: [GROUP_SCHEMA],
    displayName: `g-${crypto.randomUUID()}`,
    members: memberIds.map((value) => ({ value })),
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { id: string }).id;
}

async function memberIds(token: string, groupId: string) {
  const group = (await (await scim("GET", `/Groups/${groupId}`, token)).json()) as { members: { value: string }[] };
  return group.members.map((m) => m.value).sort();
}

describe("SCIM PATCH value filters", { timeout: 60_000 }, () => {
  it("a replace whose emails filter matches no email is 400 noTarget and changes nothing, the rest of the PATCH included", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    const before = await address(person.id);
    const other = `n-${crypto.randomUUID()}@${SCIM_DOMAIN}`;
    // Each answered 200 and changed nothing: a directory believed a change that never happened.
    for (const path of [
      'emails[type eq "home"].value',
      'emails[type eq "home"]',
      `emails[value eq "${other}"].value`,
      "emails[primary eq false].value",
    ]) {
      const value = path.endsWith(".value") ? other : { value: other, type: "home" };
      const response = await scim(
        "PATCH",
        `/Users/${person.id}`,
        token,
        patch({ op: "replace", path: "displayName", value: "Changed" }, { op: "replace", path, value }),
      );
      expect(response.status, path).toBe(400);
      expect(await response.json(), path).toEqual(scimError(400, "noTarget", `${path} matches no email of this User`));
    }
    const after = (await (await scim("GET", `/Users/${person.id}`, token)).json()) as { displayName: string };
    expect(after.displayName).toBe("Ada Lovelace");
    expect(await address(person.id)).toBe(before);

    // The filter that does match still replaces; its value compared without case (RFC 7643 §4.1.2 caseExact false).
    const replaced = await scim(
      "PATCH",
      `/Users/${person.id}`,
      token,
      patch({ op: "Replace", path: `emails[value eq "${before?.toUpperCase()}"].value`, value: other }),
    );
    expect(replaced.status).toBe(200);
    expect(await address(person.id)).toBe(other);
  });

  it("an add of emails of another type than work, none primary, leaves the account's address; the rest of the PATCH lands", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    const before = await address(person.id);
    const home = `${crypto.randomUUID()}@gmail.example`;
    // Read as a new list, the home address became the account's, or (outside the org's domains) failed the PATCH.
    for (const operation of [
      { op: "add", path: "emails", value: [{ type: "home", value: home }] },
      { op: "Add", value: { emails: [{ type: "other", value: home, primary: false }] } },
    ]) {
      const response = await scim(
        "PATCH",
        `/Users/${person.id}`,
        token,
        patch(operation, { op: "replace", path: "displayName", value: "Kept" }),
      );
      expect(response.status, await response.clone().text()).toBe(200);
      expect(((await response.json()) as { displayName: string }).displayName).toBe("Kept");
      expect(await address(person.id)).toBe(before);
    }
    // A work or primary one among them is the address, as before.
    const work = `w-${crypto.randomUUID()}@${SCIM_DOMAIN}`;
    const added = await scim(
      "PATCH",
      `/Users/${person.id}`,
      token,
      patch({
        op: "add",
        path: "emails",
        value: [
          { type: "home", value: home },
          { type: "work", value: work },
        ],
      }),
    );
    expect(added.status).toBe(200);
    expect(await address(person.id)).toBe(work);
  });

  it("`replace members[value eq …]` exchanges that member for another; a non-member is 400 noTarget", async () => {
    const { token } = await scimOrg();
    const [ada, bob, cy] = [await provision(token), await provision(token), await provision(token)];
    const groupId = await groupWith(token, [ada.id, bob.id]);

    // RFC 7644 §3.5.2.3: "all matching record values SHALL be replaced"; it answered 400 invalidPath.
    const swapped = await scim(
      "PATCH",
      `/Groups/${groupId}`,
      token,
      patch({ op: "replace", path: `members[value eq "${ada.id}"]`, value: { value: cy.id } }),
    );
    expect(swapped.status, await swapped.clone().text()).toBe(200);
    expect(await memberIds(token, groupId)).toEqual([bob.id, cy.id].sort());

    // Ada is no member now: no record matches.
    const path = `members[value eq "${ada.id}"]`;
    const missing = await scim(
      "PATCH",
      `/Groups/${groupId}`,
      token,
      patch({ op: "replace", path, value: [{ value: ada.id }] }),
    );
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual(scimError(400, "noTarget", `${path} matches no member of this Group`));

    const two = await scim(
      "PATCH",
      `/Groups/${groupId}`,
      token,
      patch({ op: "replace", path: `members[value eq "${bob.id}"]`, value: [{ value: ada.id }, { value: cy.id }] }),
    );
    expect(await two.json()).toEqual(
      scimError(400, "invalidValue", "a filtered members replace takes one member, { value }"),
    );
    const subAttribute = `members[value eq "${bob.id}"].value`;
    const immutable = await scim(
      "PATCH",
      `/Groups/${groupId}`,
      token,
      patch({ op: "replace", path: subAttribute, value: ada.id }),
    );
    expect(await immutable.json()).toEqual(
      scimError(400, "mutability", `${subAttribute} cannot be changed; replace the member instead`),
    );
    const added = await scim(
      "PATCH",
      `/Groups/${groupId}`,
      token,
      patch({ op: "add", path: `members[value eq "${ada.id}"]`, value: { value: ada.id } }),
    );
    expect(await added.json()).toEqual(
      scimError(400, "invalidPath", "a filtered members path is only for remove and replace"),
    );
    const otherFilter = await scim(
      "PATCH",
      `/Groups/${groupId}`,
      token,
      patch({ op: "remove", path: 'members[display eq "x"]' }),
    );
    expect(await otherFilter.json()).toEqual(
      scimError(400, "invalidFilter", 'a members filter must be `members[value eq "…"]`'),
    );
    // A person of another org's directory is no User here (GHSA-j8v8-g9cx-5qf4), in a replace too.
    const stranger = await provision((await scimOrg()).token);
    const foreign = await scim(
      "PATCH",
      `/Groups/${groupId}`,
      token,
      patch({ op: "replace", path: `members[value eq "${bob.id}"]`, value: { value: stranger.id } }),
    );
    expect(await foreign.json()).toEqual(
      scimError(400, "invalidValue", "every member must be a User of this organization's directory"),
    );
    expect(await memberIds(token, groupId)).toEqual([bob.id, cy.id].sort());
  });

  it("removing someone who is no member is 200 and changes nothing, in Okta's form and in Entra's (a retry converges)", async () => {
    const { token } = await scimOrg();
    const [ada, bob] = [await provision(token), await provision(token)];
    const groupId = await groupWith(token, [ada.id]);
    const okta = patch({ op: "remove", path: `members[value eq "${bob.id}"]` });
    const entra = patch({ op: "Remove", path: "members", value: [{ value: bob.id }] });
    for (const body of [okta, entra, okta]) {
      const response = await scim("PATCH", `/Groups/${groupId}`, token, body);
      expect(response.status).toBe(200);
      expect(await memberIds(token, groupId)).toEqual([ada.id]);
    }
    // The removal that lands, then its retry: both 200.
    for (let i = 0; i < 2; i++) {
      const response = await scim(
        "PATCH",
        `/Groups/${groupId}`,
        token,
        patch({ op: "remove", path: `members[value eq "${ada.id}"]` }),
      );
      expect(response.status).toBe(200);
      expect(await memberIds(token, groupId)).toEqual([]);
    }
  });
});
