import { passkey } from "@better-auth/passkey";

/**
 * WebAuthn credentials bound to this origin: the relying party id is the
 * issuer's host, so a passkey registered here is useless on any other site.
 */
export function passkeyPlugin(issuer: string) {
  const url = new URL(issuer);
  return passkey({
    rpID: url.hostname,
    rpName: "Mono-Auth",
    origin: url.origin,
  });
}
