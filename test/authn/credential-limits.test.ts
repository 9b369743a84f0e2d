// Password attempts are limited per client address (an IPv6 client by its
// /64) and per account, for the pages and Better Auth's API under one
// budget, on the Workers rate-limiting binding; wrong passwords are audited.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TOO_MANY_ATTEMPTS } from "../../workers/authn/src/pages/handlers.tsx";
import {
  ACCOUNT_LIMIT,
  ADDRESS_LIMIT,
  inOneWindow,
  PERIOD_SECONDS,
  RATE_LIMITED_BODY,
} from "../support/credential-limits.ts";
import { api, clientAddress, form, ORIGIN, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

/** A page sign-in that is refused before any password is checked, but counts: cheap to repeat. */
function emptyPageAttempt(email: string, address: string) {
  return form("/sign-in", { email, password: "" }, { Origin: ORIGIN, "cf-connecting-ip": address });
}

async function expectPageLimited(response: Response) {
  expect(response.status).toBe(429);
  expect(response.headers.get("Retry-After")).toBe(String(PERIOD_SECONDS));
  expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
  const html = await response.text();
  expect(html).toContain(TOO_MANY_ATTEMPTS);
  expect(html).toContain('data-testid="form-error"');
}

async function expectApiLimited(response: Response) {
  expect(response.status).toBe(429);
  expect(response.headers.get("Retry-After")).toBe(String(PERIOD_SECONDS));
  expect(await response.json()).toEqual(RATE_LIMITED_BODY);
}

describe("per client address", () => {
  it("refuses the attempt past the limit with 429, on the pages and the API alike", async () => {
    const outcome = await inOneWindow(async () => {
      const address = clientAddress();
      const within: number[] = [];
      for (let i = 0; i < ADDRESS_LIMIT; i++) within.push((await emptyPageAttempt(uniqueEmail(), address)).status);
      return {
        within,
        page: await emptyPageAttempt(uniqueEmail(), address),
        signUp: await form(
          "/sign-up",
          { name: "Late", email: uniqueEmail(), password: PASSWORD },
          { Origin: ORIGIN, "cf-connecting-ip": address },
        ),
        api: await api("/sign-in/email", { email: uniqueEmail(), password: PASSWORD }, { "cf-connecting-ip": address }),
        elsewhere: await emptyPageAttempt(uniqueEmail(), clientAddress()),
      };
    });
    expect(outcome.within).toEqual(Array(ADDRESS_LIMIT).fill(400));
    await expectPageLimited(outcome.page);
    await expectPageLimited(outcome.signUp);
    await expectApiLimited(outcome.api);
    // Another address has its own budget.
    expect(outcome.elsewhere.status).toBe(400);
  });

  it("counts an IPv6 client by its /64: two addresses in one /64 share a budget", async () => {
    const outcome = await inOneWindow(async () => {
      const [a, b] = crypto.getRandomValues(new Uint16Array(2)) as unknown as [number, number];
      const prefix = `2001:db8:${a.toString(16)}:${b.toString(16)}`;
      const one = `${prefix}::1`;
      const other = `${prefix}:ffff:ffff:ffff:fffe`;
      const within: number[] = [];
      for (let i = 0; i < ADDRESS_LIMIT; i++) {
        within.push((await emptyPageAttempt(uniqueEmail(), i % 2 === 0 ? one : other)).status);
      }
      return {
        within,
        sameSlash64: await api(
          "/sign-in/email",
          { email: uniqueEmail(), password: PASSWORD },
          { "cf-connecting-ip": other },
        ),
        nextSlash64: await emptyPageAttempt(
          uniqueEmail(),
          `2001:db8:${a.toString(16)}:${((b + 1) & 0xffff).toString(16)}::1`,
        ),
      };
    });
    expect(outcome.within).toEqual(Array(ADDRESS_LIMIT).fill(400));
    await expectApiLimited(outcome.sameSlash64);
    expect(outcome.nextSlash64.status).toBe(400);
  });
});

describe("per account", () => {
  it("refuses the attempt past the limit from any address; pages and API share the budget", async () => {
    const outcome = await inOneWindow(async () => {
      // A fresh account per attempt, its sign-up in the window it counts in: a run that crossed
      // a window (or a sign-up just before one) would have spent the next window's budget.
      const person = await signUp("Target");
      const within: number[] = [];
      // The sign-up was the account's first attempt.
      for (let i = 0; i < ACCOUNT_LIMIT - 1; i++) {
        // Every attempt from a new address, half through the page, half through the API.
        const response =
          i % 2 === 0
            ? await emptyPageAttempt(person.email, clientAddress())
            : await api("/sign-in/email", { email: person.email, password: "not it at all" });
        within.push(response.status);
      }
      return {
        within,
        // The same account, spelled as a person might type it.
        page: await emptyPageAttempt(` ${person.email.toUpperCase()} `, clientAddress()),
        api: await api("/sign-in/email", { email: person.email, password: PASSWORD }),
        otherAccount: await emptyPageAttempt(uniqueEmail(), clientAddress()),
      };
    });
    expect(outcome.within).toEqual(Array.from({ length: ACCOUNT_LIMIT - 1 }, (_, i) => (i % 2 === 0 ? 400 : 401)));
    await expectPageLimited(outcome.page);
    // Even the right password waits: the limit is checked before the password.
    await expectApiLimited(outcome.api);
    expect(outcome.otherAccount.status).toBe(400);
  });

  it("names the account in a JSON, a URL-encoded and a multipart body alike", async () => {
    const outcome = await inOneWindow(async () => {
      const email = uniqueEmail();
      const within: number[] = [];
      for (let i = 0; i < ACCOUNT_LIMIT; i++) {
        within.push((await api("/sign-up/email", { name: "Dup", email, password: "short" })).status);
      }
      const multipart = new FormData();
      multipart.set("email", email);
      multipart.set("password", PASSWORD);
      const post = (body: BodyInit, type?: string) =>
        exports.default.fetch(
          new Request(`${ORIGIN}/api/auth/sign-in/email`, {
            method: "POST",
            headers: { Origin: ORIGIN, "cf-connecting-ip": clientAddress(), ...(type ? { "Content-Type": type } : {}) },
            body,
          }),
        );
      return {
        within,
        multipart: await post(multipart),
        urlEncoded: await post(new URLSearchParams({ email, password: PASSWORD }), "application/x-www-form-urlencoded"),
        vendorJson: await post(JSON.stringify({ email, password: PASSWORD }), "application/vnd.api+json"),
      };
    });
    expect(outcome.within).toEqual(Array(ACCOUNT_LIMIT).fill(400));
    await expectApiLimited(outcome.multipart);
    await expectApiLimited(outcome.urlEncoded);
    await expectApiLimited(outcome.vendorJson);
  });

  it("counts a repeated email field as Better Auth reads it (the last), never a decoy before it", async () => {
    const outcome = await inOneWindow(async () => {
      const email = uniqueEmail();
      for (let i = 0; i < ACCOUNT_LIMIT; i++) await api("/sign-up/email", { name: "Dup", email, password: "short" });
      const decoyFirst = (body: URLSearchParams | FormData) =>
        exports.default.fetch(
          new Request(`${ORIGIN}/api/auth/sign-in/email`, {
            method: "POST",
            headers: { Origin: ORIGIN, "cf-connecting-ip": clientAddress() },
            body,
          }),
        );
      const urlEncoded = new URLSearchParams([
        ["email", uniqueEmail()],
        ["email", email],
        ["password", PASSWORD],
      ]);
      const multipart = new FormData();
      multipart.append("email", uniqueEmail());
      multipart.append("email", email);
      multipart.append("password", PASSWORD);
      return { urlEncoded: await decoyFirst(urlEncoded), multipart: await decoyFirst(multipart) };
    });
    await expectApiLimited(outcome.urlEncoded);
    await expectApiLimited(outcome.multipart);
  });
});

describe("the limited paths", () => {
  it("no spelling of a limited path other than its own reaches Better Auth", async () => {
    // The limits match exact paths (workers/authn/src/api/better-auth-api.ts);
    // Better Auth's router must not answer any variant of them.
    for (const path of [
      "/sign-in/email/",
      "/sign-in//email",
      "/Sign-In/email",
      "/sign-in%2Femail",
      "/sign-up/email/",
    ]) {
      const response = await api(path, { email: uniqueEmail(), password: PASSWORD });
      expect(response.status, path).toBe(404);
    }
  });
});

interface AuditRow {
  kind: string;
  outcome: string;
  subject: string | null;
  detail: string;
}

function auditRows(kind: string, needle: string) {
  return env.AUDIT_DB.prepare(
    "SELECT kind, outcome, subject, detail FROM audit_event WHERE kind = ? AND instr(detail, ?) > 0",
  )
    .bind(kind, needle)
    .all<AuditRow>()
    .then((r) => r.results);
}

describe("audit", () => {
  it("records a wrong password for a person's account, naming them, never the email or password", async () => {
    const person = await signUp("Audited");
    const address = clientAddress();
    const wrong = "definitely the wrong password";
    const page = await form(
      "/sign-in",
      { email: person.email, password: wrong },
      { Origin: ORIGIN, "cf-connecting-ip": address },
    );
    expect(page.status).toBe(401);
    const call = await api("/sign-in/email", { email: person.email, password: wrong }, { "cf-connecting-ip": address });
    expect(call.status).toBe(401);

    await expect.poll(async () => (await auditRows("auth.sign_in_failed", address)).length).toBe(2);
    const rows = await auditRows("auth.sign_in_failed", address);
    for (const row of rows) {
      expect(row.outcome).toBe("refused");
      expect(row.subject).toBe(person.userId);
      const detail = JSON.parse(row.detail) as Record<string, unknown>;
      expect(detail).toMatchObject({ error: "INVALID_EMAIL_OR_PASSWORD", client_address: `ip:${address}` });
      expect(detail.account).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(row.detail).not.toContain(person.email);
      expect(row.detail).not.toContain(wrong);
    }
    expect(rows.map((r) => (JSON.parse(r.detail) as { path: string }).path).sort()).toEqual([
      "/api/auth/sign-in/email",
      "/sign-in",
    ]);
    // One account, one hash, whichever way it came in.
    expect(new Set(rows.map((r) => (JSON.parse(r.detail) as { account: string }).account)).size).toBe(1);
  });
});
