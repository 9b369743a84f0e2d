// A consent is for the session's active org (workers/authn/src/auth/plugins/oauth-provider.ts
// consentReferenceId), which every token of the grant then needs (oidc/org-claim.ts). Allowed while
// the person had no active org (cleared, or lost between the page and the post), it stored an
// `oidc_consent` row of no org and handed the client a code the token endpoint then refused with
// `invalid_grant` ("the authorization names no organization"). It is refused at the consent step
// now (oidc/consent-org.ts): the page's `400` with the code `no_active_organization`, Better Auth's
// `oauth2/consent` `400 invalid_request`, and no row and no code. A denial needs no org and still
// goes back to the client as `access_denied` (RFC 6749 §4.1.2.1). An authorize with no active org
// never skips to a code on an earlier consent either: it goes to the consent page, which asks for
// an org, or with `prompt=none` back to the client as `interaction_required` (OIDC Core §3.1.2.6).
// And the allow is for the org the page showed (its form carries it, bound to the signed request,
// oidc/consent-org-binding.ts): a switch to another org in another tab between the page and the post
// made the consent and the code the other org's; it is refused now, the page's `400` with the code
// `consent_organization_changed`, Better Auth's `400 invalid_request`, no row and no code.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { CONSENT_ANSWERED_CODE, NO_ACTIVE_ORG_CODE, ORG_CHANGED_CODE } from "../../workers/authn/src/oidc/consent.tsx";
import {
  CONSENT_NEEDS_ORG,
  CONSENT_ORG_CHANGED,
  CONSENT_ORG_UNBOUND,
} from "../../workers/authn/src/oidc/consent-org.ts";
import { api } from "./helpers.ts";
import { ISSUER, oidc, pkce, REDIRECT_URI } from "./oidc-helpers.ts";

type Person = Awaited<ReturnType<typeof oidc.signUp>>;

/** A person shown the consent page of a new client, their org still active: the page's form. */
async function atConsentPage(person?: Person) {
  const who = person ?? (await oidc.signUp());
  const client = await oidc.browserClient();
  const { challenge } = await pkce();
  const request = oidc.codeRequest(client.clientId, challenge);
  const first = await oidc.authorize(request, who.cookie);
  const location = new URL(first.headers.get("Location") ?? "", ISSUER);
  expect(location.pathname).toBe(ENDPOINT.consent);
  return { person: who, client, request, form: await oidc.consentForm(location.toString(), who.cookie) };
}

async function clearActiveOrg(person: Person) {
  const cleared = await api("/organization/set-active", { organizationId: null }, { Cookie: person.cookie });
  expect(cleared.status).toBe(200);
}

/** What the grant left behind: consent rows and live authorization codes of the person for the client. */
async function leftBehind(userId: string, clientId: string) {
  const consents = await env.DB.prepare("SELECT count(*) AS n FROM oidc_consent WHERE user_id = ? AND client_id = ?")
    .bind(userId, clientId)
    .first<{ n: number }>();
  const codes = await env.DB.prepare(
    `SELECT count(*) AS n FROM verification
      WHERE value LIKE '%"type":"authorization_code"%' AND instr(value, ?) > 0 AND instr(value, ?) > 0`,
  )
    .bind(`"userId":"${userId}"`, clientId)
    .first<{ n: number }>();
  return { consents: consents?.n, codes: codes?.n };
}

/** The consent page's refusal: its status and error code, and no redirect. */
async function refusalPage(response: Response) {
  const page = await response.text();
  return {
    status: response.status,
    location: response.headers.get("Location"),
    code: /data-testid="error-code">([^<]*)</.exec(page)?.[1],
    page,
  };
}

async function expectNoOrgPage(response: Response) {
  const { page, ...refused } = await refusalPage(response);
  expect(refused).toEqual({ status: 400, location: null, code: NO_ACTIVE_ORG_CODE });
  expect(page).toContain("Choose an organization, then start again from the application.");
}

/** A second org of the person's, created while the first stays active. */
async function secondOrg(person: Person): Promise<string> {
  const created = await api(
    "/organization/create",
    { name: "Second org", slug: `second-${crypto.randomUUID().slice(0, 8)}`, keepCurrentActiveOrganization: true },
    { Cookie: person.cookie },
  );
  expect(created.status).toBe(200);
  return ((await created.json()) as { id: string }).id;
}

/** What another tab of the same browser does: make another org the session's active one. */
async function switchTo(person: Person, orgId: string) {
  const switched = await api("/organization/set-active", { organizationId: orgId }, { Cookie: person.cookie });
  expect(switched.status).toBe(200);
  const row = await env.DB.prepare("SELECT active_organization_id AS org FROM session WHERE id = ?")
    .bind(person.sessionId)
    .first<{ org: string }>();
  expect(row?.org).toBe(orgId);
}

describe("a consent needs the session's active org", { timeout: 60_000 }, () => {
  it("allowed with no active org (cleared after the page was shown): the page's 400, no consent row, no code", async () => {
    const { person, client, form } = await atConsentPage();
    await clearActiveOrg(person);
    await expectNoOrgPage(await oidc.answerConsent(form, true, person.cookie));
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("Better Auth's own consent endpoint refuses it too: 400 invalid_request", async () => {
    const { person, client, form } = await atConsentPage();
    await clearActiveOrg(person);
    const answer = await api("/oauth2/consent", { ...form, accept: true }, { Cookie: person.cookie });
    expect({ status: answer.status, body: await answer.json() }).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: CONSENT_NEEDS_ORG },
    });
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("an active org the person is no member of any more is refused the same way", async () => {
    const { person, client, form } = await atConsentPage();
    // Removed behind Better Auth's back, so the session keeps naming the org (its hooks would clear it).
    await env.DB.prepare("DELETE FROM member WHERE user_id = ? AND organization_id = ?")
      .bind(person.userId, person.orgId)
      .run();
    await expectNoOrgPage(await oidc.answerConsent(form, true, person.cookie));
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("a denial needs no org: back to the client with access_denied", async () => {
    const { person, client, request, form } = await atConsentPage();
    await clearActiveOrg(person);
    const denied = await oidc.answerConsent(form, false, person.cookie);
    expect(denied.status).toBe(303);
    const back = new URL(denied.headers.get("Location") ?? "");
    expect([`${back.origin}${back.pathname}`, back.searchParams.get("error"), back.searchParams.get("state")]).toEqual([
      REDIRECT_URI,
      "access_denied",
      request.state,
    ]);
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("with an org the consent goes through as before: a code for that org", async () => {
    const { person, client, request, form } = await atConsentPage();
    const allowed = await oidc.answerConsent(form, true, person.cookie);
    expect(allowed.status).toBe(303);
    const back = new URL(allowed.headers.get("Location") ?? "");
    expect(back.searchParams.get("state")).toBe(request.state);
    expect(back.searchParams.get("code")).toMatch(/^\w+$/);
    const row = await env.DB.prepare("SELECT reference_id AS org FROM oidc_consent WHERE user_id = ? AND client_id = ?")
      .bind(person.userId, client.clientId)
      .first<{ org: string }>();
    expect(row?.org).toBe(person.orgId);
  });

  it("an authorize with no active org skips to no code on an earlier consent: the page asks for an org", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const { challenge } = await pkce();
    const request = oidc.codeRequest(client.clientId, challenge);
    // Consented while the org was active: a later authorize of the same request skips the page.
    const first = await oidc.authorizeAndConsent(request, person.cookie);
    expect(first.searchParams.get("code")).toMatch(/^\w+$/);
    const codesBefore = (await leftBehind(person.userId, client.clientId)).codes;
    await clearActiveOrg(person);

    const again = await oidc.authorize(request, person.cookie);
    expect(again.status).toBe(302);
    const location = new URL(again.headers.get("Location") ?? "", ISSUER);
    expect(`${location.origin}${location.pathname}`).toBe(`${ISSUER}${ENDPOINT.consent}`);
    await expectNoOrgPage(await oidc.showConsentPage(location.toString(), person.cookie));

    const silent = await oidc.authorize({ ...request, prompt: "none" }, person.cookie);
    const back = new URL(silent.headers.get("Location") ?? "");
    expect([`${back.origin}${back.pathname}`, back.searchParams.get("error"), back.searchParams.get("code")]).toEqual([
      REDIRECT_URI,
      "interaction_required",
      null,
    ]);
    expect((await leftBehind(person.userId, client.clientId)).codes).toBe(codesBefore);
  });
});

describe("a consent is for the org its page showed", { timeout: 60_000 }, () => {
  it("allowed after a switch to another org in another tab: the page's 400 consent_organization_changed, no row, no code", async () => {
    const person = await oidc.signUp();
    const other = await secondOrg(person);
    const { client, form } = await atConsentPage(person);
    await switchTo(person, other);
    const { page, ...refused } = await refusalPage(await oidc.answerConsent(form, true, person.cookie));
    expect(refused).toEqual({ status: 400, location: null, code: ORG_CHANGED_CODE });
    expect(page).toContain("You switched to another organization after this page was shown");
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
    // The form is spent: switched back, the same page's allow is not answered a second time.
    await switchTo(person, person.orgId);
    const again = await refusalPage(await oidc.answerConsent(form, true, person.cookie));
    expect({ status: again.status, code: again.code }).toEqual({ status: 400, code: CONSENT_ANSWERED_CODE });
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("Better Auth's own consent endpoint refuses it too: 400 invalid_request", async () => {
    const person = await oidc.signUp();
    const other = await secondOrg(person);
    const { client, form } = await atConsentPage(person);
    await switchTo(person, other);
    const answer = await api("/oauth2/consent", { ...form, accept: true }, { Cookie: person.cookie });
    expect({ status: answer.status, body: await answer.json() }).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: CONSENT_ORG_CHANGED },
    });
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("the page shown after the switch names the new org, and its allow is a code for that org", async () => {
    const person = await oidc.signUp();
    const other = await secondOrg(person);
    await switchTo(person, other);
    const { client, request, form } = await atConsentPage(person);
    const allowed = await oidc.answerConsent(form, true, person.cookie);
    expect(allowed.status).toBe(303);
    const back = new URL(allowed.headers.get("Location") ?? "");
    expect([back.searchParams.get("state"), /^\w+$/.test(back.searchParams.get("code") ?? "")]).toEqual([
      request.state,
      true,
    ]);
    const row = await env.DB.prepare("SELECT reference_id AS org FROM oidc_consent WHERE user_id = ? AND client_id = ?")
      .bind(person.userId, client.clientId)
      .first<{ org: string }>();
    expect(row?.org).toBe(other);
  });

  it("switched away and back before the post: the org is the page's again, and the allow is its code", async () => {
    const person = await oidc.signUp();
    const other = await secondOrg(person);
    const { client, request, form } = await atConsentPage(person);
    await switchTo(person, other);
    await switchTo(person, person.orgId);
    const allowed = await oidc.answerConsent(form, true, person.cookie);
    expect(allowed.status).toBe(303);
    expect(new URL(allowed.headers.get("Location") ?? "").searchParams.get("state")).toBe(request.state);
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 1, codes: 1 });
  });

  it("a denial after the switch needs no org: back to the client with access_denied", async () => {
    const person = await oidc.signUp();
    const other = await secondOrg(person);
    const { client, form } = await atConsentPage(person);
    await switchTo(person, other);
    const denied = await oidc.answerConsent(form, false, person.cookie);
    expect(denied.status).toBe(303);
    expect(new URL(denied.headers.get("Location") ?? "").searchParams.get("error")).toBe("access_denied");
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("an allow without the page's binding of its org, or with another's, is 400 invalid_request and mints nothing", async () => {
    const person = await oidc.signUp();
    const other = await secondOrg(person);
    const elsewhere = await atConsentPage(person);
    const shownOrg = (value: string | undefined) => value?.slice(0, value.lastIndexOf("."));
    expect(shownOrg(elsewhere.form.consent_org)).toBe(person.orgId);
    const mac = (value: string | undefined) => value?.slice(value.lastIndexOf(".") + 1);
    const forged: Record<string, (form: Record<string, string>) => Record<string, string>> = {
      "no binding": ({ consent_org: _, ...rest }) => rest,
      "an empty one": (form) => ({ ...form, consent_org: "" }),
      "another request's page's": (form) => ({ ...form, consent_org: elsewhere.form.consent_org ?? "" }),
      "the org edited": (form) => ({ ...form, consent_org: `${other}.${mac(form.consent_org)}` }),
      "the MAC edited": (form) => ({ ...form, consent_org: `${person.orgId}.${"A".repeat(43)}` }),
    };
    for (const [name, forge] of Object.entries(forged)) {
      const { client, form } = await atConsentPage(person);
      const answer = await api("/oauth2/consent", { ...forge(form), accept: true }, { Cookie: person.cookie });
      expect({ name, status: answer.status, body: await answer.json() }).toEqual({
        name,
        status: 400,
        body: { error: "invalid_request", error_description: CONSENT_ORG_UNBOUND },
      });
      expect({ name, ...(await leftBehind(person.userId, client.clientId)) }).toEqual({ name, consents: 0, codes: 0 });
    }
    // Through the page: a form without it is refused the same way (its generic page), nothing minted.
    const { client, form } = await atConsentPage(person);
    const { consent_org: _, ...bare } = form;
    const refused = await refusalPage(await oidc.answerConsent(bare, true, person.cookie));
    expect({ status: refused.status, location: refused.location }).toEqual({ status: 400, location: null });
    expect(refused.page).toContain("This request has expired or was changed.");
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });
});
