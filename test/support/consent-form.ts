import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { CookieBrowser } from "./cookie-browser.ts";

/** The consent page's form fields (`oauth_query`, `consent_org`), without `accept`, which its buttons add. */
export type ConsentForm = Record<string, string>;

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };

function unescapeAttribute(value: string): string {
  return value.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity);
}

/**
 * What a browser posts from the consent page it was shown: the hidden fields
 * of its form to ENDPOINT.consent, as the page wrote them. Read from the page,
 * never put together by the test, so a helper carries exactly what the page
 * bound (the org it showed, oidc/consent-org-binding.ts) and nothing else.
 */
export function consentFormFields(html: string): ConsentForm {
  const form = new RegExp(`<form\\b[^>]*action="${ENDPOINT.consent}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1];
  if (form === undefined) throw new Error(`no consent form on the page: ${html.slice(0, 300)}`);
  const fields: ConsentForm = {};
  for (const [input] of form.matchAll(/<input\b[^>]*>/g)) {
    const attributes = Object.fromEntries(
      [...input.matchAll(/([\w-]+)="([^"]*)"/g)].map(([, name = "", value = ""]) => [name, unescapeAttribute(value)]),
    );
    if (attributes.type === "hidden" && attributes.name) fields[attributes.name] = attributes.value ?? "";
  }
  if (!fields.oauth_query) throw new Error("the consent form carries no oauth_query");
  return fields;
}

/** The page at `response` (status 200) read as a browser would: its consent form's fields. */
export async function consentFormOf(response: Response): Promise<ConsentForm> {
  const html = await response.text();
  if (response.status !== 200) throw new Error(`the consent page answered ${response.status}: ${html.slice(0, 300)}`);
  return consentFormFields(html);
}

/**
 * A person's browser (test/support/cookie-browser.ts) sent to the consent page `consent`:
 * shown the page, it posts the page's form with the button `accept` ("true" Allow, "false"
 * Deny). The answer, not followed.
 */
export async function answerConsentPage(
  browser: Pick<CookieBrowser, "get" | "post">,
  consent: URL,
  accept: "true" | "false" = "true",
): Promise<Response> {
  const form = await consentFormOf(await browser.get(consent.href));
  return browser.post(ENDPOINT.consent, { ...form, accept });
}
