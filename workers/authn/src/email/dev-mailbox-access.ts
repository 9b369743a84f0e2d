import type { AuthnConfig } from "../config.ts";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The dev mailbox holds every reset and verification link sent, so it is
 * readable only when both hold: the deployment chose it (`MAIL_TRANSPORT =
 * "dev-mailbox"`) and the issuer is a plain-http loopback origin, which no
 * public deployment can be. A production config that kept the local
 * transport by mistake then loses its mail; it never publishes it.
 */
export function devMailboxReadable(config: Pick<AuthnConfig, "issuer" | "mail">): boolean {
  if (config.mail.transport !== "dev-mailbox") return false;
  const issuer = new URL(config.issuer);
  return issuer.protocol === "http:" && LOOPBACK_HOSTS.has(issuer.hostname);
}
