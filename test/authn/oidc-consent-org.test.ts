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
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { NO_ACTIVE_ORG_CODE } from "../../workers/authn/src/oidc/consent.tsx";
import { CONSENT_NEEDS_ORG } from "../../workers/authn/src/oidc/consent-org.ts";
import { api } from "./helpers.ts";
import { ISSUER, oidc, pkce, REDIRECT_URI } from "./oidc-helpers.ts";

type Person = Awaited<ReturnType<typeof oidc.signUp>>;

/** A person at the consent page of a new client, their org still active: the form's signed request. */
async function atConsentPage(person?: Person) {
  const who = person ?? (await oidc.signUp());
  const client = await oidc.browserClient();
  const { challenge } = await pkce();
  const request = oidc.codeRequest(client.clientId, challenge);
  const first = await oidc.authorize(request, who.cookie);
  const location = new URL(first.headers.get("Location") ?? "", ISSUER);
  expect(location.pathname).toBe(ENDPOINT.consent);
  return { person: who, client, request, oauthQuery: location.search.slice(1) };
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

async function expectNoOrgPage(response: Response) {
  expect(response.headers.get("Location")).toBeNull();
  const page = await response.text();
  expect({ status: response.status, code: /data-testid="error-code">([^<]*)</.exec(page)?.[1] }).toEqual({
    status: 400,
    code: NO_ACTIVE_ORG_CODE,
  });
  expect(page).toContain("Choose an organization, then start again from the application.");
}

describe("a consent needs the session's active org", { timeout: 60_000 }, () => {
  it("allowed with no active org (cleared after the page was shown): the page's 400, no consent row, no code", async () => {
    const { person, client, oauthQuery } = await atConsentPage();
    await clearActiveOrg(person);
    await expectNoOrgPage(await oidc.answerConsent(oauthQuery, true, person.cookie));
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("Better Auth's own consent endpoint refuses it too: 400 invalid_request", async () => {
    const { person, client, oauthQuery } = await atConsentPage();
    await clearActiveOrg(person);
    const answer = await api("/oauth2/consent", { accept: true, oauth_query: oauthQuery }, { Cookie: person.cookie });
    expect({ status: answer.status, body: await answer.json() }).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: CONSENT_NEEDS_ORG },
    });
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("an active org the person is no member of any more is refused the same way", async () => {
    const { person, client, oauthQuery } = await atConsentPage();
    // Removed behind Better Auth's back, so the session keeps naming the org (its hooks would clear it).
    await env.DB.prepare("DELETE FROM member WHERE user_id = ? AND organization_id = ?")
      .bind(person.userId, person.orgId)
      .run();
    await expectNoOrgPage(await oidc.answerConsent(oauthQuery, true, person.cookie));
    expect(await leftBehind(person.userId, client.clientId)).toEqual({ consents: 0, codes: 0 });
  });

  it("a denial needs no org: back to the client with access_denied", async () => {
    const { person, client, request, oauthQuery } = await atConsentPage();
    await clearActiveOrg(person);
    const denied = await oidc.answerConsent(oauthQuery, false, person.cookie);
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
    const { person, client, request, oauthQuery } = await atConsentPage();
    const allowed = await oidc.answerConsent(oauthQuery, true, person.cookie);
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
