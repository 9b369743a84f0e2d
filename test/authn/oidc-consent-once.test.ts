// A consent request is answered once (workers/authn/src/oidc/consent-claim.ts):
// the consent page's form carries Better Auth's signed copy of the
// authorization request, good for a minute, and each further post of it —
// a replay, a second tab, a double click, concurrent posts — is refused,
// `400` with the page's code `consent_already_answered`, or `400
// invalid_request` from Better Auth's own consent endpoint. Only the first
// answer mints anything (RFC 6749 §10.5).
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { CONSENT_ALREADY_ANSWERED } from "../../workers/authn/src/oidc/consent-claim.ts";
import { CONSENT_ANSWERED_CODE } from "../../workers/authn/src/oidc/consent.tsx";
import { api } from "./helpers.ts";
import { ISSUER, oidc, pkce, REDIRECT_URI } from "./oidc-helpers.ts";

/** A person at the consent page of a new client: the page's form (its signed request and the org it showed). */
async function atConsentPage() {
  const person = await oidc.signUp();
  const client = await oidc.browserClient();
  const { challenge } = await pkce();
  const request = oidc.codeRequest(client.clientId, challenge);
  const first = await oidc.authorize(request, person.cookie);
  const location = first.headers.get("Location") ?? "";
  expect(new URL(location, ISSUER).pathname).toBe(ENDPOINT.consent);
  return { person, request, form: await oidc.consentForm(location, person.cookie) };
}

type Outcome = { kind: "code" | "access_denied" | "answered" | "other"; detail: string };

/** What one consent post came to: a redirect to the client with a code or access_denied, or the refusal page. */
async function outcome(response: Response, state: string): Promise<Outcome> {
  if (response.status === 303) {
    const back = new URL(response.headers.get("Location") ?? "");
    const redirected = `${back.origin}${back.pathname}` === REDIRECT_URI && back.searchParams.get("state") === state;
    if (redirected && /^\w+$/.test(back.searchParams.get("code") ?? "")) return { kind: "code", detail: "" };
    if (redirected && back.searchParams.get("error") === "access_denied") return { kind: "access_denied", detail: "" };
    return { kind: "other", detail: back.toString() };
  }
  const page = await response.text();
  if (response.status === 400 && page.includes(`data-testid="error-code">${CONSENT_ANSWERED_CODE}<`)) {
    return { kind: "answered", detail: "" };
  }
  return { kind: "other", detail: `${response.status} ${page.slice(0, 200)}` };
}

describe("a consent request is answered once", () => {
  it("the same form posted again, allow or deny, is refused with consent_already_answered and mints nothing", async () => {
    const { person, request, form } = await atConsentPage();
    expect(await outcome(await oidc.answerConsent(form, true, person.cookie), request.state ?? "")).toEqual({
      kind: "code",
      detail: "",
    });
    for (const accept of [true, false]) {
      const again = await oidc.answerConsent(form, accept, person.cookie);
      expect(again.headers.get("Location")).toBeNull();
      expect({ accept, ...(await outcome(again, request.state ?? "")) }).toEqual({
        accept,
        kind: "answered",
        detail: "",
      });
    }
  });

  it("Better Auth's own consent endpoint refuses it too: 400 invalid_request", async () => {
    const { person, request, form } = await atConsentPage();
    const denied = await api("/oauth2/consent", { ...form, accept: false }, { Cookie: person.cookie });
    expect(denied.status).toBe(200);
    expect(new URL(((await denied.json()) as { url: string }).url).searchParams.get("error")).toBe("access_denied");
    const again = await api("/oauth2/consent", { ...form, accept: true }, { Cookie: person.cookie });
    expect({ status: again.status, body: await again.json() }).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: CONSENT_ALREADY_ANSWERED },
    });
    // And through the page, the same request stays answered.
    expect(await outcome(await oidc.answerConsent(form, true, person.cookie), request.state ?? "")).toEqual({
      kind: "answered",
      detail: "",
    });
  });

  it("of concurrent posts of one form exactly one is answered, whichever runs first", async () => {
    const { person, request, form } = await atConsentPage();
    const accepts = [true, false, true, true];
    const outcomes = await Promise.all(
      accepts.map(async (accept) => ({
        accept,
        ...(await outcome(await oidc.answerConsent(form, accept, person.cookie), request.state ?? "")),
      })),
    );
    const answered = outcomes.filter((one) => one.kind !== "answered");
    // One winner, and its answer is its own: a code for an allow, access_denied for a deny.
    expect(answered).toHaveLength(1);
    expect(answered[0]).toEqual({
      accept: answered[0]?.accept,
      kind: answered[0]?.accept ? "code" : "access_denied",
      detail: "",
    });
    expect(outcomes.filter((one) => one.kind === "answered")).toHaveLength(accepts.length - 1);
  });
});
