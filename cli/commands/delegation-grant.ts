import type { Command } from "commander";
import { registerPagedList } from "../lib/pages.ts";

/** A delegation grant as the admin API shows it (workers/token/src/admin/delegation-grants.ts). */
interface DelegationGrant {
  id: string;
  subject: string;
  actor_client_id: string;
  scopes: string[];
  audiences: string[];
  status: string;
  expires_at: string | null;
  created_at: string;
}

/**
 * `mono-auth delegation-grant list`: a person's consent that an agent may act
 * for them (RFC 8693 `act`), as the admin API's `/orgs/{org}/delegation-grants`
 * pages it, newest first. A grant is honoured only within the membership it
 * was given in, so a removed person's grants still read `active` here.
 */
export function registerDelegationGrantCommands(program: Command): void {
  const grants = program
    .command("delegation-grant")
    .description("members' consents that an agent may act for them (token exchange)");

  registerPagedList(grants, {
    description: "list an org's delegation grants, newest first",
    org: "the organization's id",
    path: (org) => `/orgs/${encodeURIComponent(org)}/delegation-grants`,
    key: "grants",
    columns: ["id", "status", "subject", "actor", "scopes", "audiences", "expires_at"],
    row: (g: DelegationGrant) => [
      g.id,
      g.status,
      g.subject,
      g.actor_client_id,
      g.scopes.join(" "),
      g.audiences.join(" "),
      g.expires_at ?? "never",
    ],
    options: (command) =>
      command
        .option("--subject <user_id>", "only the grants of this member")
        .option("--actor <client_id>", "only the grants to this agent"),
    filters: (options: { subject?: string; actor?: string }) => ({
      subject: options.subject,
      actor_client_id: options.actor,
    }),
  });
}
