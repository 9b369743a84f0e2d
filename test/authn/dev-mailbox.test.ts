import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { parseAuthnConfig } from "../../workers/authn/src/config.ts";
import { mailSender } from "../../workers/authn/src/email/mail-sender.ts";
import { resetPasswordMessage } from "../../workers/authn/src/email/templates.ts";
import { envWith, formTo, getFrom, mailTo } from "./email-helpers.ts";
import { PASSWORD, uniqueEmail } from "./helpers.ts";

const LOCAL = envWith({});

describe("dev mailbox", { timeout: 60_000 }, () => {
  it("serves the mail as a page and as JSON, newest first, per recipient", async () => {
    const email = uniqueEmail();
    await formTo(LOCAL, "/sign-up", { name: "Mailbox", email, password: PASSWORD });
    await formTo(LOCAL, "/forgot-password", { email });
    const messages = await mailTo(email);
    expect(messages.map((m) => m.kind)).toEqual(["reset-password", "verify-email"]);
    expect(messages[0]).toEqual(
      expect.objectContaining({ to: email, subject: "Reset your password", created_at: expect.any(String) }),
    );

    const page = await getFrom(LOCAL, `/dev/mailbox?to=${encodeURIComponent(email)}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(page.headers.get("Cache-Control")).toBe("no-store");
    const html = await page.text();
    expect(html.match(/data-testid="mail"/g)).toHaveLength(2);
    expect(html).toContain("Reset your password");
  });

  it("does not exist (404 not_found) unless MAIL_TRANSPORT is dev-mailbox", async () => {
    const production = envWith({
      MAIL_TRANSPORT: "http",
      MAIL_API_URL: "https://mail.example.com/emails",
      MAIL_API_KEY: "test-key",
    });
    for (const path of ["/dev/mailbox", "/dev/mailbox?format=json"]) {
      const response = await getFrom(production, path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: "not_found", error_description: "no such page" });
    }
  });

  it("does not exist on a public issuer even with MAIL_TRANSPORT=dev-mailbox left in place", async () => {
    const misconfigured = envWith({ ISSUER: "https://id.example.com" });
    const response = await getFrom(misconfigured, "/dev/mailbox?format=json");
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe("not_found");
  });
});

describe("mail configuration", { timeout: 60_000 }, () => {
  const base = {
    ISSUER: "https://id.example.com",
    API_AUDIENCE: "https://id.example.com/api",
    BETTER_AUTH_SECRET: "x".repeat(32),
    MAX_REQUEST_BODY_BYTES: "16384",
    MAX_ORGANIZATIONS_PER_USER: "20",
    MAX_SESSIONS_PER_USER: "50",
    MAIL_FROM: "Mono-Auth <no-reply@id.example.com>",
  };
  it("selects the transport by MAIL_TRANSPORT and refuses anything else, loudly", () => {
    expect(parseAuthnConfig({ ...base, MAIL_TRANSPORT: "dev-mailbox" }).mail).toEqual({
      transport: "dev-mailbox",
      from: base.MAIL_FROM,
    });
    expect(
      parseAuthnConfig({ ...base, MAIL_TRANSPORT: "http", MAIL_API_URL: "https://api.resend.com/emails" }).mail,
    ).toEqual({ transport: "http", from: base.MAIL_FROM, apiUrl: "https://api.resend.com/emails" });
    expect(parseAuthnConfig({ ...base, MAIL_TRANSPORT: "cloudflare" }).mail).toEqual({
      transport: "cloudflare",
      from: base.MAIL_FROM,
    });
    expect(() => parseAuthnConfig({ ...base })).toThrow(/MAIL_TRANSPORT/);
    expect(() => parseAuthnConfig({ ...base, MAIL_TRANSPORT: "smtp" })).toThrow(/MAIL_TRANSPORT/);
    expect(() => parseAuthnConfig({ ...base, MAIL_TRANSPORT: "http" })).toThrow(/MAIL_API_URL/);
    expect(() =>
      parseAuthnConfig({ ...base, MAIL_TRANSPORT: "http", MAIL_API_URL: "http://mail.example.com/emails" }),
    ).toThrow(/https/);
    expect(() => parseAuthnConfig({ ...base, MAIL_TRANSPORT: "dev-mailbox", MAIL_FROM: " " })).toThrow(/MAIL_FROM/);
  });

  it("requires email verification unless told otherwise on a local issuer", () => {
    const config = { ...base, MAIL_TRANSPORT: "dev-mailbox" };
    expect(parseAuthnConfig(config).requireEmailVerification).toBe(true);
    const local = { ...config, ISSUER: "http://localhost:8787", API_AUDIENCE: "http://localhost:8787/api" };
    expect(parseAuthnConfig({ ...local, REQUIRE_EMAIL_VERIFICATION: "false" }).requireEmailVerification).toBe(false);
    expect(() => parseAuthnConfig({ ...config, REQUIRE_EMAIL_VERIFICATION: "no" })).toThrow(
      /REQUIRE_EMAIL_VERIFICATION/,
    );
    // A public issuer verifies whatever the var says: a deployment that kept
    // the local wrangler.toml value still verifies addresses.
    const deployed = { ...config, REQUIRE_EMAIL_VERIFICATION: "false" };
    expect(parseAuthnConfig(deployed).requireEmailVerification).toBe(true);
  });
});

describe("Cloudflare Email Service transport", () => {
  it("hands the composed message to the send_email binding, and refuses to run without one", async () => {
    // Cloudflare's binding is not reachable from a local runtime: a stand-in
    // records what the transport hands it (the platform's side, not ours).
    const sent: unknown[] = [];
    const binding = {
      send: async (message: unknown) => {
        sent.push(message);
        return { messageId: "m-1" };
      },
    } as unknown as SendEmail;
    const from = "Mono-Auth <no-reply@id.example.com>";
    const message = resetPasswordMessage("ada@example.com", "https://id.example.com/reset-password?token=t", 15);
    await mailSender({ DB: env.DB, EMAIL: binding }, { mail: { transport: "cloudflare", from } }).send(message);
    expect(sent).toEqual([{ from, to: "ada@example.com", subject: message.subject, text: message.text }]);
    expect(() => mailSender({ DB: env.DB }, { mail: { transport: "cloudflare", from } })).toThrow(/EMAIL/);
  });
});
