import { type Command, Option } from "commander";
import { decodeJwt } from "jose";
import { INVITE_STATES, type InviteView } from "../../shared/contracts/host-invites.ts";
import { MAX_HOST_INVITE_TTL_SECONDS } from "../../shared/contracts/tokens.ts";
import { COMPACT_JWS } from "../../shared/jwt/compact-jws.ts";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import {
  type CommonOptions,
  collectLabel,
  parseAudiences,
  parseDuration,
  parseScopes,
  withCommonOptions,
} from "../lib/options.ts";
import { keyValueTable, printResult } from "../lib/output.ts";
import { registerPagedList } from "../lib/pages.ts";

/** What the admin API answers (workers/token/src/admin/invites.ts). */
interface CreatedInvite {
  invite: string;
  jti: string;
  org_id: string;
  expires_at: string;
  scopes: string[];
  audiences: string[];
  labels: Record<string, string>;
  bootstrap_endpoint: string;
  dpop_bound_access_tokens: boolean;
}

function parseState(value: string): string {
  if (!(INVITE_STATES as readonly string[]).includes(value))
    throw new CliError(`--state: one of ${INVITE_STATES.join(", ")}`);
  return value;
}

function labelsText(labels: Record<string, string>): string {
  return (
    Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ") || "-"
  );
}

/** RFC 9449 §5.2 `dpop_bound_access_tokens`, as a table cell. */
function dpopText(bound: boolean): string {
  return bound ? "required" : "no";
}

function invitesPath(org: string, jti?: string): string {
  const base = `/orgs/${encodeURIComponent(org)}/invites`;
  return jti === undefined ? base : `${base}/${encodeURIComponent(jti)}`;
}

/** What an invite's jti looks like in an error message: a server's UUID, never arbitrary text from a pasted token. */
const PRINTABLE_JTI = /^[A-Za-z0-9-]{1,64}$/;

/**
 * `revoke <jti>` names an invite by its jti. The invite itself (a compact
 * JWS, RFC 7515 §7.1) is refused before anything is sent: it redeems until
 * it is withdrawn, and as a URL path it would be written whole into the
 * token Worker's request log line, and in part into the audit trail, while
 * the withdrawal it asked for answered 404 and left it redeemable.
 */
function inviteJti(argument: string): string {
  if (!COMPACT_JWS.test(argument)) return argument;
  let jti: unknown;
  try {
    jti = decodeJwt(argument).jti;
  } catch {
    jti = undefined;
  }
  const hint =
    typeof jti === "string" && PRINTABLE_JTI.test(jti)
      ? `its jti is ${jti}`
      : "`mono-auth invite list --org ORG` shows the jti";
  throw new CliError(`revoke takes the invite's jti, not the invite itself (nothing was sent): ${hint}`);
}

/**
 * `mono-auth invite create|list|revoke --org ORG`: single-use host invites
 * (workers/token/src/admin/invites.ts). `revoke <jti>` withdraws one nobody
 * has redeemed; once it prints, no host can redeem it.
 */
export function registerInviteCommands(program: Command): void {
  const invite = program.command("invite").description("host invites (single-use, for `host bootstrap`)");

  withCommonOptions(
    invite
      .command("create")
      .description("create a single-use host invite; give the printed JWT to the host (`mono-auth host bootstrap`)")
      .requiredOption("--org <org>", "the organization the host will belong to")
      .requiredOption("--scopes <scopes>", 'the scopes the host may be granted, space-separated ("a b")', parseScopes)
      .option(
        "--audiences <audiences>",
        "the audiences the host may get tokens for, space-separated (default: every audience the issuer serves)",
        parseAudiences,
      )
      .addOption(
        new Option("--ttl <duration>", "how long the invite is valid: 90s, 30m, 1h … at most 24h")
          .argParser(parseDuration)
          .default(3600, "1h"),
      )
      .option("--label <key=value>", "a label for the host (repeatable)", collectLabel)
      .option(
        "--dpop",
        "the host's client must use DPoP (RFC 9449 §5.2 dpop_bound_access_tokens): no token without a proof, every token bound to the host's DPoP key",
        false,
      ),
  ).action(
    async (
      options: CommonOptions & {
        org: string;
        scopes: string[];
        audiences?: string[];
        ttl: number;
        label?: Record<string, string>;
        dpop: boolean;
      },
    ) => {
      if (options.ttl > MAX_HOST_INVITE_TTL_SECONDS) throw new CliError("--ttl: an invite lives at most 24h");
      const created = await new AdminApi(options).request<CreatedInvite>("POST", invitesPath(options.org), {
        scopes: options.scopes,
        ttl_seconds: options.ttl,
        dpop_bound_access_tokens: options.dpop,
        ...(options.audiences ? { audiences: options.audiences } : {}),
        ...(options.label ? { labels: options.label } : {}),
      });
      printResult(options.json, created, () =>
        [
          keyValueTable([
            ["jti", created.jti],
            ["org_id", created.org_id],
            ["expires_at", created.expires_at],
            ["scopes", created.scopes.join(" ")],
            ["audiences", created.audiences.join(" ")],
            ["labels", labelsText(created.labels)],
            ["dpop", dpopText(created.dpop_bound_access_tokens)],
          ]),
          "",
          "Invite (single use; the host runs `npx mono-auth host bootstrap --invite <this>`):",
          created.invite,
        ].join("\n"),
      );
    },
  );
  registerPagedList(invite, {
    description: "the org's host invites, newest first, with their state (never the invites themselves)",
    org: "the organization's id",
    path: (org) => invitesPath(org),
    key: "invites",
    columns: ["jti", "state", "labels", "scopes", "dpop", "created_by", "expires_at", "client_id"],
    row: (i: InviteView) => [
      i.jti,
      i.state,
      labelsText(i.labels),
      i.scopes.join(" "),
      dpopText(i.dpop_bound_access_tokens),
      i.created_by,
      i.expires_at,
      i.client_id ?? "-",
    ],
    options: (command) =>
      command.option(
        "--state <state>",
        `only invites in this state: ${INVITE_STATES.join(", ")} (default: every state)`,
        parseState,
      ),
    filters: (options: { state?: string }) => ({ state: options.state }),
  });

  withCommonOptions(
    invite
      .command("revoke <jti>")
      .description("withdraw an invite no host has redeemed yet (sent to the wrong host, or leaked)")
      .requiredOption("--org <org>", "the organization's id"),
  ).action(async (jti: string, options: CommonOptions & { org: string }) => {
    const path = invitesPath(options.org, inviteJti(jti));
    const withdrawn = await new AdminApi(options).request<InviteView>("DELETE", path);
    printResult(options.json, withdrawn, () =>
      keyValueTable([
        ["withdrawn", withdrawn.jti],
        ["org_id", withdrawn.org_id],
        ["labels", labelsText(withdrawn.labels)],
        ["expires_at", withdrawn.expires_at],
      ]),
    );
  });
}
