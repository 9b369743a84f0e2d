// Bodies Better Auth 1.7 answered with a 500, or stored and broke the
// account with, refused with a 400 first (workers/authn/src/auth/body-shape-guards.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_USER_NAME } from "../../workers/authn/src/auth/body-shape-guards.ts";
import { api, form, get, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

async function refusal(response: Response) {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("oauth_query that is not a string", { timeout: 60_000 }, () => {
  // The provider's hook reads it on every endpoint whose body has one: an array that is no list of pairs threw.
  const PATHS: Array<{ path: string; body: () => Record<string, unknown> }> = [
    { path: "/sign-in/email", body: () => ({ email: uniqueEmail(), password: PASSWORD }) },
    { path: "/sign-up/email", body: () => ({ name: "Q", email: uniqueEmail(), password: PASSWORD }) },
    { path: "/request-password-reset", body: () => ({ email: uniqueEmail() }) },
    { path: "/oauth2/continue", body: () => ({}) },
    { path: "/oauth2/public-client-prelogin", body: () => ({}) },
  ];

  it.each(PATHS)("$path: 400 invalid_request, never a 500", async ({ path, body }) => {
    for (const value of [["a"], [1], [[1, 2, 3]], { a: { b: 1 } }]) {
      const answer = await refusal(await api(path, { ...body(), oauth_query: value }));
      expect({ value, ...answer }).toEqual({
        value,
        status: 400,
        body: { error: "invalid_request", error_description: "oauth_query must be a string" },
      });
    }
  });

  it("/oauth2/consent with a session: 400 invalid_request", async () => {
    const person = await signUp("Consent Shape");
    const answer = await refusal(
      await api("/oauth2/consent", { accept: true, oauth_query: ["a"] }, { Cookie: person.cookie }),
    );
    expect(answer).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: "oauth_query must be a string" },
    });
  });

  it("a string still reaches the provider's own signature check", async () => {
    const answer = await refusal(
      await api("/sign-in/email", { email: uniqueEmail(), password: PASSWORD, oauth_query: "client_id=x" }),
    );
    expect(answer).toEqual({ status: 400, body: { error: "invalid_signature" } });
  });
});

describe("/update-user", { timeout: 60_000 }, () => {
  it("refuses a name that is not 1 to MAX_USER_NAME characters with 400 VALIDATION_ERROR, and the account still works", async () => {
    const person = await signUp("Kept Name");
    for (const name of [
      null,
      {},
      [],
      ["x"],
      1,
      true,
      "",
      "   ",
      "n".repeat(MAX_USER_NAME + 1),
      "Ann\u0000",
      "A\nB",
      "\u0085x",
    ]) {
      const answer = await refusal(await api("/update-user", { name }, { Cookie: person.cookie }));
      expect({ name, status: answer.status, code: answer.body.code }).toEqual({
        name,
        status: 400,
        code: "VALIDATION_ERROR",
      });
    }
    // An array name used to be stored: every later request of the person's session was 401.
    const session = await get("/api/auth/get-session", { Cookie: person.cookie });
    expect(session.status).toBe(200);
    expect(((await session.json()) as { user: { name: string } }).user.name).toBe("Kept Name");
    const row = await env.DB.prepare("SELECT name FROM user WHERE id = ?")
      .bind(person.userId)
      .first<{ name: string }>();
    expect(row?.name).toBe("Kept Name");

    const renamed = await api("/update-user", { name: "n".repeat(MAX_USER_NAME) }, { Cookie: person.cookie });
    expect(renamed.status).toBe(200);
  });

  it("refuses an image that is neither a string nor null with 400 VALIDATION_ERROR", async () => {
    const person = await signUp("Image Shape");
    for (const image of [{}, [], 1, true]) {
      const answer = await refusal(await api("/update-user", { image }, { Cookie: person.cookie }));
      expect({ image, status: answer.status, code: answer.body.code }).toEqual({
        image,
        status: 400,
        code: "VALIDATION_ERROR",
      });
    }
    expect((await api("/update-user", { image: null }, { Cookie: person.cookie })).status).toBe(200);
    expect((await api("/update-user", { image: "https://img.example/a.png" }, { Cookie: person.cookie })).status).toBe(
      200,
    );
  });
});

describe("/sign-up/email", { timeout: 60_000 }, () => {
  it("refuses a name past MAX_USER_NAME, or blank, with 400 VALIDATION_ERROR, as the sign-up form does, and creates no one", async () => {
    for (const name of ["n".repeat(MAX_USER_NAME + 1), "n".repeat(10_000), "   ", "\u0000", "Eve\r\nBob", "x\u007f"]) {
      const email = uniqueEmail();
      const answer = await refusal(await api("/sign-up/email", { name, email, password: PASSWORD }));
      expect({ length: name.length, status: answer.status, code: answer.body.code }).toEqual({
        length: name.length,
        status: 400,
        code: "VALIDATION_ERROR",
      });
      const row = await env.DB.prepare("SELECT count(*) AS n FROM user WHERE email = ?")
        .bind(email)
        .first<{ n: number }>();
      expect(row?.n).toBe(0);
    }
    const longest = await api("/sign-up/email", {
      name: "n".repeat(MAX_USER_NAME),
      email: uniqueEmail(),
      password: PASSWORD,
    });
    expect(longest.status).toBe(200);
    // Names in any script, with joiners and marks, are names.
    const unusual = await api("/sign-up/email", {
      name: "Zoë \u200c\u0646\u0627\u0645 👩‍💻",
      email: uniqueEmail(),
      password: PASSWORD,
    });
    expect(unusual.status).toBe(200);
  });

  it("the sign-up page refuses a name with a control character (400) and creates no one", async () => {
    const email = uniqueEmail();
    const response = await form("/sign-up", { name: "Ann\u0000", email, password: PASSWORD });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Use a name without control characters.");
    const row = await env.DB.prepare("SELECT count(*) AS n FROM user WHERE email = ?")
      .bind(email)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });
});

describe("/organization/update", { timeout: 60_000 }, () => {
  it("refuses a data object naming nothing it updates with 400 VALIDATION_ERROR (was a 500)", async () => {
    const owner = await signUp("Org Shape");
    for (const data of [{}, { unknown: "x" }]) {
      const answer = await refusal(
        await api("/organization/update", { organizationId: owner.orgId, data }, { Cookie: owner.cookie }),
      );
      expect({ data, status: answer.status, code: answer.body.code }).toEqual({
        data,
        status: 400,
        code: "VALIDATION_ERROR",
      });
    }
    const renamed = await api(
      "/organization/update",
      { organizationId: owner.orgId, data: { name: "Renamed Org" } },
      { Cookie: owner.cookie },
    );
    expect(renamed.status).toBe(200);
  });
});
