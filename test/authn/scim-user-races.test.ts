// Concurrent PATCHes of one SCIM User (RFC 7644 §3.5.2), each naming other
// attributes: each must land, as a PATCH changes only what it names.
import { describe, expect, it } from "vitest";
import { PATCH_SCHEMA, provision, scim, scimOrg, scimUserName } from "./scim-helpers.ts";

function patch(...Operations: unknown[]) {
  return { schemas: [PATCH_SCHEMA], Operations };
}

describe("SCIM User PATCHes racing each other", { timeout: 60_000 }, () => {
  it("concurrent PATCHes of different attributes each land", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    const renamed = scimUserName();
    const changes = [
      { op: "replace", path: "displayName", value: "Countess" },
      { op: "replace", path: "externalId", value: "ext-42" },
      { op: "replace", path: "name.givenName", value: "Augusta" },
      { op: "replace", path: "name.familyName", value: "King" },
      { op: "replace", path: "userName", value: renamed },
    ];
    const answers = await Promise.all(
      changes.map((change) => scim("PATCH", `/Users/${person.id}`, token, patch(change))),
    );
    expect(answers.map((a) => a.status)).toEqual(changes.map(() => 200));
    const stored = (await (await scim("GET", `/Users/${person.id}`, token)).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({
      displayName: "Countess",
      externalId: "ext-42",
      name: { givenName: "Augusta", familyName: "King" },
      userName: renamed,
    });
  });
});
