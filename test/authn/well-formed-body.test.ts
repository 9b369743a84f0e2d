// Form and JSON bodies at the authn Worker are UTF-8 text with well-formed
// strings (workers/authn/src/http/well-formed-body.ts). Before, a sign-up
// form with name=%ff made a person named "\ufffd", a Better Auth sign-up with
// "name":"\ud800" one named "\ufffd\ufffd\ufffd", and a directory's
// displayName "\ud800" or a stray 0xff byte was provisioned as U+FFFD: each
// kept as something it was not sent as. Now each is refused, and nothing is
// stored.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCIM_CONTENT_TYPE, SCIM_ERROR_SCHEMA } from "../../shared/errors/scim.ts";
import { clientAddress, form, ORIGIN, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";
import { SCIM_DOMAIN, scimOrg, USER_SCHEMA } from "./scim-helpers.ts";

function post(path: string, body: BodyInit, contentType: string, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: { "Content-Type": contentType, Origin: ORIGIN, "cf-connecting-ip": clientAddress(), ...headers },
      body,
      redirect: "manual",
    }),
  );
}

async function expectInvalidBody(response: Response, description: string) {
  expect(response.status).toBe(400);
  // toWellFormed: a failure's diff must not carry an unpaired surrogate to the reporter.
  const body = (await response.json()) as { error: string; error_description: string };
  expect({ error: body.error, error_description: body.error_description.toWellFormed() }).toEqual({
    error: "invalid_body",
    error_description: description,
  });
}

async function userCount(email: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM user WHERE email = ?").bind(email).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("a body that is not the text it claims to be", () => {
  it("sign-up form: name=%ff or %ED%A0%80 is 400 invalid_body, and no one is signed up", async () => {
    for (const escaped of ["%ff", "%ED%A0%80"]) {
      const email = uniqueEmail();
      const body = `name=${escaped}&email=${encodeURIComponent(email)}&password=${encodeURIComponent(PASSWORD)}`;
      const response = await post(ENDPOINT.signUp, body, "application/x-www-form-urlencoded");
      await expectInvalidBody(response, "parameter name is not UTF-8 once percent-decoded");
      expect(await userCount(email)).toBe(0);
    }
  });

  it("Better Auth's sign-up: an unpaired surrogate in the name is 400 invalid_body, and no one is signed up", async () => {
    const email = uniqueEmail();
    const body = `{"name":"\\ud800","email":"${email}","password":"${PASSWORD}"}`;
    const response = await post(`${ENDPOINT.authApi}/sign-up/email`, body, "application/json");
    await expectInvalidBody(response, "$.name: not well-formed Unicode (an unpaired surrogate, RFC 8259 §8.2)");
    expect(await userCount(email)).toBe(0);
  });

  it("sign-up as multipart/form-data: a field that is not UTF-8 is 400 invalid_body, and no one is signed up", async () => {
    // Request.formData() reads multipart as well, and stored a stray 0xff byte as U+FFFD.
    const email = uniqueEmail();
    const part = (name: string, value: string) =>
      `--b\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const text = `${part("name", "A\xffB")}${part("email", email)}${part("password", PASSWORD)}--b--\r\n`;
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    const response = await post(ENDPOINT.signUp, bytes, "multipart/form-data; boundary=b");
    await expectInvalidBody(response, "the body is not UTF-8");
    expect(await userCount(email)).toBe(0);
  });

  it("a byte order mark before the JSON does not hide an unpaired surrogate: 400 invalid_body, no one signed up", async () => {
    // Request.json() drops a leading BOM; the check kept it, failed to parse, and let the body through unchecked.
    const email = uniqueEmail();
    const body = `\ufeff{"name":"\\ud800","email":"${email}","password":"${PASSWORD}"}`;
    const response = await post(`${ENDPOINT.authApi}/sign-up/email`, body, "application/json");
    await expectInvalidBody(response, "$.name: not well-formed Unicode (an unpaired surrogate, RFC 8259 §8.2)");
    expect(await userCount(email)).toBe(0);
  });

  it("a raw byte that is not UTF-8 in a form is 400 invalid_body", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode("name="), 0xff, ...new TextEncoder().encode("&a=b")]);
    await expectInvalidBody(
      await post(ENDPOINT.signIn, bytes, "application/x-www-form-urlencoded"),
      "the body is not UTF-8",
    );
  });

  it("SCIM: 400 in RFC 7644's format (invalidValue, invalidSyntax), and no one is provisioned", async () => {
    const { token } = await scimOrg();
    const auth = { Authorization: `Bearer ${token}` };
    const userName = `surrogate-${crypto.randomUUID().slice(0, 8)}@${SCIM_DOMAIN}`;
    const surrogate = await post(
      `${ENDPOINT.scim}/Users`,
      `{"schemas":["${USER_SCHEMA}"],"userName":"${userName}","displayName":"\\ud800"}`,
      SCIM_CONTENT_TYPE,
      auth,
    );
    expect(surrogate.status).toBe(400);
    expect(surrogate.headers.get("Content-Type")).toBe(SCIM_CONTENT_TYPE);
    expect(await surrogate.json()).toMatchObject({
      schemas: [SCIM_ERROR_SCHEMA],
      status: "400",
      scimType: "invalidValue",
      detail: "$.displayName: not well-formed Unicode (an unpaired surrogate, RFC 8259 §8.2)",
    });
    const raw = new Uint8Array([
      ...new TextEncoder().encode(`{"schemas":["${USER_SCHEMA}"],"userName":"${userName}","displayName":"x`),
      0xff,
      ...new TextEncoder().encode('"}'),
    ]);
    const notUtf8 = await post(`${ENDPOINT.scim}/Users`, raw, SCIM_CONTENT_TYPE, auth);
    expect(await notUtf8.json()).toMatchObject({
      status: "400",
      scimType: "invalidSyntax",
      detail: "the body is not UTF-8",
    });
    expect(await userCount(userName)).toBe(0);
  });

  it("the session exchange: 400 invalid_request (RFC 6749 §5.2)", async () => {
    const { cookie } = await signUp();
    const refused = await post(ENDPOINT.sessionToken, "audience=%ff", "application/x-www-form-urlencoded", {
      Cookie: cookie,
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: "invalid_request",
      error_description: "parameter audience is not UTF-8 once percent-decoded",
    });
  });

  it("well-formed text, escaped or not, still signs a person up as sent", async () => {
    const email = uniqueEmail();
    const response = await form(ENDPOINT.signUp, { name: "Zoë \u{1F600}", email, password: PASSWORD });
    expect(response.status).toBe(303);
    const row = await env.DB.prepare("SELECT name FROM user WHERE email = ?").bind(email).first<{ name: string }>();
    expect(row?.name).toBe("Zoë \u{1F600}");
  });
});
