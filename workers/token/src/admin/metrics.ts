import { z } from "zod";
import { PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { auditDetail } from "./audit.ts";
import { requireReach } from "./authorize.ts";
import { invalidQuery, knownQuery, queryFilter } from "./query.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";

const DAY_MS = 86_400_000;
/** The longest window one count covers: the counts read the audit table, not a rollup. */
const MAX_WINDOW_MS = 31 * DAY_MS;

const countsSchema = z.object({
  org: z.string().nullable().describe("the chain counted; null: every chain"),
  since: z.iso.datetime(),
  mints: z.number().int().describe("token.issued"),
  mint_refusals: z.number().int().describe("token.refused"),
  denials: z.number().int().describe("gateway.decision with outcome deny"),
  allowed: z.number().int().describe("gateway.decision with outcome allow"),
  revocations: z.number().int().describe("revocation.recorded"),
});

/**
 * GET /metrics?org=&hours= → the counts an operator watches, read from the
 * audit database (docs/audit.md): tokens minted and refused, gateway
 * allows and denials, revocations recorded, over the last `hours` (1–744,
 * default 24), for one org's chain or (platform operators) every chain.
 * Events reach the database within about a second of happening.
 */
export function metricsRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/metrics",
    {
      summary: "Counts of mints, denials and revocations from the audit trail",
      query: { org: z.string().describe("an org id, or platform"), hours: z.string().regex(/^\d+$/) },
      response: countsSchema,
      orgAdmins: "self",
    },
    async (c) => {
      // Only these, once each: a misspelt or empty `org` read as none would count every chain.
      const params = knownQuery(c, ["org", "hours"]);
      const org = queryFilter(params.org, "org");
      requireReach(c, org);
      const hoursRaw = params.hours ?? "24";
      const hours = /^\d{1,4}$/.test(hoursRaw) ? Number(hoursRaw) : Number.NaN;
      if (!(hours >= 1 && hours * 3_600_000 <= MAX_WINDOW_MS)) {
        invalidQuery("hours", `an integer from 1 to ${MAX_WINDOW_MS / 3_600_000}`);
      }
      if (org !== undefined && org.length > 128) invalidQuery("org", "at most 128 characters");
      const since = Date.now() - hours * 3_600_000;
      auditDetail(c, { action: "metrics.read", queried_org: org ?? null, hours });
      const statement =
        org === undefined
          ? c.env.AUDIT_DB.prepare(
              "SELECT kind, outcome, COUNT(*) AS n FROM audit_event WHERE occurred_at >= ? GROUP BY kind, outcome",
            ).bind(since)
          : c.env.AUDIT_DB.prepare(
              "SELECT kind, outcome, COUNT(*) AS n FROM audit_event WHERE chain = ? AND occurred_at >= ? GROUP BY kind, outcome",
            ).bind(org === PLATFORM_ORG_ID ? PLATFORM_ORG_ID : org, since);
      const rows = (await statement.all<{ kind: string; outcome: string; n: number }>()).results;
      const count = (kind: string, outcome?: string) =>
        rows
          .filter((r) => r.kind === kind && (outcome === undefined || r.outcome === outcome))
          .reduce((s, r) => s + r.n, 0);
      return c.json({
        org: org ?? null,
        since: new Date(since).toISOString(),
        mints: count("token.issued"),
        mint_refusals: count("token.refused"),
        denials: count("gateway.decision", "deny"),
        allowed: count("gateway.decision", "allow"),
        revocations: count("revocation.recorded"),
      });
    },
  );
}
