import { isLocalIssuer } from "../../../../shared/config/issuer.ts";
import type { AuthnConfig } from "../config.ts";

/**
 * The dev mailbox holds every reset and verification link sent, so it is
 * readable only when both hold: the deployment chose it (`MAIL_TRANSPORT =
 * "dev-mailbox"`) and the issuer is a plain-http loopback origin, which no
 * public deployment can be. A production config that kept the local
 * transport by mistake then loses its mail; it never publishes it.
 */
export function devMailboxReadable(config: Pick<AuthnConfig, "issuer" | "mail">): boolean {
  return config.mail.transport === "dev-mailbox" && isLocalIssuer(config.issuer);
}
