import { env } from "cloudflare:workers";
import { normaliseIssuer } from "../../../../shared/config/issuer.ts";
import { assertOutboundUrl } from "../../../../shared/http/outbound-url.ts";

/**
 * The outbound guard (shared/http/outbound-url.ts) right before a fetch of a
 * URL a tenant stored. Read from the Worker's own environment rather than
 * passed down: the fetchers (a JWKS resolver shared with the ID-JAG
 * verifier, the vault's token request shared with refresh) are called from
 * places that hold no config, and the issuer is one per deployment anyway.
 */
export function assertFetchableUrl(url: string): void {
  assertOutboundUrl(url, normaliseIssuer(env.ISSUER));
}
