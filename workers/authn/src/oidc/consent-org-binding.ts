import { base64url, fromBase64url, purposeKey } from "../security/expiring-mac.ts";

/**
 * The consent form's field that names the org its page showed (oidc/consent.tsx), and
 * the body member that hands it to Better Auth's consent endpoint (oidc/consent-org.ts).
 */
export const CONSENT_ORG_FIELD = "consent_org";

/** The binding MAC's own key (security/expiring-mac.ts), apart from every other use of BETTER_AUTH_SECRET. */
const PURPOSE = "mono-auth consent org v1";

/** Anything longer is no value of ours: an org id, a dot and 43 characters of MAC. */
const MAX_LENGTH = 256;

const encoder = new TextEncoder();

function bound(signature: string, orgId: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${signature}\n${orgId}`);
}

/**
 * `<orgId>.<mac>`: the org the consent page showed, bound to the signed
 * authorization request it showed it for (Better Auth's `sig` of the
 * page's `oauth_query`). Better Auth's signature covers the request alone
 * and is made at the authorize endpoint, before the page is shown; a
 * parameter added to the query would break it. So the page signs the org
 * beside it, with a key of its own, and the form carries both.
 */
export async function bindConsentOrg(secret: string, signature: string, orgId: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await purposeKey(secret, PURPOSE), bound(signature, orgId));
  return `${orgId}.${base64url(mac)}`;
}

/**
 * The org a consent page showed for this signed request, or undefined when
 * `value` is not a binding the page made for it (absent, another request's,
 * edited). The MAC is checked in constant time (WebCrypto's verify).
 */
export async function consentOrgShown(secret: string, signature: string, value: unknown): Promise<string | undefined> {
  if (typeof value !== "string" || value.length > MAX_LENGTH) return undefined;
  const dot = value.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const orgId = value.slice(0, dot);
  const mac = fromBase64url(value.slice(dot + 1));
  if (!mac) return undefined;
  const valid = await crypto.subtle.verify("HMAC", await purposeKey(secret, PURPOSE), mac, bound(signature, orgId));
  return valid ? orgId : undefined;
}
