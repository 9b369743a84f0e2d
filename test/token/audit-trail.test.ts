// The audit trail through the admin API (workers/token/src/admin/audit-trail.ts):
// queries with every filter and cursor pagination, verify of an org's hash
// chain (ok, tampered, paged), every refusal with its exact code, and who
// may call it.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../shared/audit/audit-record.ts";
import { AUDIT_QUEUE_NAME } from "../../shared/audit/queues.ts";
import { adminAudience, REALM } from "../../shared/contracts/endpoints.ts";
import { PLATFORM_ORG_ID } from "../../shared/contracts/tokens.ts";
import type { AuditEventView, QueryPage, VerifyReport } from "../../shared/contracts/audit-trail.ts";
import { auditRecord, chainRows, deliver } from "../audit/runtime/deliveries.ts";
import { adminRequest, adminToken, expectHttpError, registerOperator } from "./admin-fixtures.ts";
import { clientToken, mintedToken, registerTestClient } from "./clients-fixtures.ts";

let token: string;

beforeAll(async () => {
  token = await adminToken();
});

async function get<T>(path: string): Promise<T> {
  const response = await adminRequest("GET", path, { token });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

function events(query: Record<string, string>): Promise<QueryPage> {
  return get<QueryPage>(`/audit/events?${new URLSearchParams(query)}`);
}

/** A fresh org with a spread of events, one millisecond apart, delivered to the consumer. */
async function seedOrg(): Promise<{ orgId: string; records: AuditRecord[]; t0: number }> {
  const orgId = `org-${crypto.randomUUID()}`;
  const t0 = Date.now() - 60_000;
  const decision = crypto.randomUUID();
  const records = [
    auditRecord(orgId, { occurredAt: t0, subject: "alice", kind: "gateway.decision", outcome: "allow" }),
    auditRecord(orgId, { occurredAt: t0 + 1, subject: "alice", kind: "gateway.decision", outcome: "deny" }),
    auditRecord(orgId, { id: decision, occurredAt: t0 + 2, subject: "bob", kind: "gateway.decision", outcome: "deny" }),
    auditRecord(orgId, {
      occurredAt: t0 + 3,
      subject: "bob",
      actor: "mac_agent",
      kind: "token.issued",
      outcome: "issued",
    }),
    auditRecord(orgId, {
      occurredAt: t0 + 4,
      subject: "mac_host",
      clientId: "mac_host",
      kind: "host_invite.redeemed",
      outcome: "issued",
    }),
    auditRecord(orgId, { occurredAt: t0 + 5, clientId: "mac_other", kind: "host_invite.refused", outcome: "refused" }),
    auditRecord(orgId, { occurredAt: t0 + 6, subject: "alice", kind: "revocation.recorded", outcome: "recorded" }),
  ];
  const result = await deliver(AUDIT_QUEUE_NAME, records);
  expect(result.retryMessages).toEqual([]);
  return { orgId, records, t0 };
}

const ids = (page: QueryPage) => page.events.map((e) => e.id);
const newestFirst = (records: AuditRecord[]) => [...records].reverse().map((r) => r.id);

describe("admin API: GET /audit/events", () => {
  it("an org's events, newest first, as stored: chain, seq, hashes and detail", async () => {
    const { orgId, records } = await seedOrg();
    const page = await events({ org: orgId });
    expect(ids(page)).toEqual(newestFirst(records));
    expect(page.next_cursor).toBeNull();
    const rows = await chainRows(orgId);
    const first = page.events.at(-1) as AuditEventView;
    expect(first).toEqual({
      id: records[0]?.id,
      occurred_at: new Date(records[0]?.occurredAt as number).toISOString(),
      org_id: orgId,
      chain: orgId,
      seq: 1,
      kind: "gateway.decision",
      outcome: "allow",
      subject: "alice",
      actor: null,
      client_id: "c",
      detail: { path: "/api/documents" },
      prev_hash: "0".repeat(64),
      hash: rows[0]?.hash,
    });
  });

  it("each filter narrows the search", async () => {
    const { orgId, records, t0 } = await seedOrg();
    const pick = (...indexes: number[]) => indexes.map((i) => records[i]?.id).reverse();
    expect(ids(await events({ org: orgId, subject: "alice" }))).toEqual(pick(0, 1, 6));
    expect(ids(await events({ org: orgId, actor: "mac_agent" }))).toEqual(pick(3));
    expect(ids(await events({ org: orgId, client: "mac_other" }))).toEqual(pick(5));
    expect(ids(await events({ org: orgId, kind: "gateway.decision" }))).toEqual(pick(0, 1, 2));
    expect(ids(await events({ org: orgId, kind: "host_invite.*" }))).toEqual(pick(4, 5));
    expect(ids(await events({ org: orgId, outcome: "deny" }))).toEqual(pick(1, 2));
    expect(ids(await events({ decision: records[2]?.id as string }))).toEqual(pick(2));
    expect(ids(await events({ org: orgId, subject: "alice", outcome: "deny" }))).toEqual(pick(1));
    // from inclusive, to exclusive; ISO 8601 or epoch milliseconds.
    expect(ids(await events({ org: orgId, from: String(t0 + 2), to: new Date(t0 + 5).toISOString() }))).toEqual(
      pick(2, 3, 4),
    );
    // Across orgs: a subject's events wherever they are.
    expect(ids(await events({ subject: "mac_host", from: String(t0) }))).toContain(records[4]?.id);
  });

  it("pages by cursor: every event once, in order, then no cursor", async () => {
    const { orgId, records } = await seedOrg();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: QueryPage = await events({ org: orgId, limit: "3", ...(cursor ? { cursor } : {}) });
      expect(page.events.length).toBeLessThanOrEqual(3);
      seen.push(...ids(page));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(newestFirst(records));
  });

  it("events of no org are the platform chain's", async () => {
    const subject = `nobody-${crypto.randomUUID()}`;
    const record = auditRecord(null, { subject });
    await deliver(AUDIT_QUEUE_NAME, [record]);
    const page = await events({ org: PLATFORM_ORG_ID, subject });
    expect(page.events).toEqual([expect.objectContaining({ id: record.id, org_id: null, chain: PLATFORM_ORG_ID })]);
  });

  it("400 invalid_query for a parameter it does not know, twice, empty, or malformed", async () => {
    const refusals: [string, RegExp][] = [
      ["orgg=x", /^orgg: unknown query parameter/],
      ["org=a&org=b", /^org: given more than once/],
      ["org=", /^org: must not be empty/],
      [`org=${"o".repeat(129)}`, /^org: at most 128 characters/],
      ["limit=0", /^limit: an integer from 1 to 200/],
      ["limit=201", /^limit: an integer from 1 to 200/],
      ["limit=ten", /^limit: an integer from 1 to 200/],
      ["outcome=maybe", /^outcome: one of allow, deny, issued, refused, recorded/],
      ["kind=Gateway", /^kind: /],
      ["kind=gateway.*.x", /^kind: /],
      ["from=yesterday", /^from: an ISO 8601 time or epoch milliseconds/],
      ["from=2000&to=1000", /^from: must be before to/],
      ["cursor=not-ours", /^cursor: not a cursor this API returned/],
      [`subject=${"s".repeat(300)}`, /^subject: at most \d+ characters/],
    ];
    for (const [query, description] of refusals) {
      const body = await expectHttpError(
        await adminRequest("GET", `/audit/events?${query}`, { token }),
        400,
        "invalid_query",
      );
      expect(body.error_description, query).toMatch(description);
    }
  });
});

describe("admin API: GET /audit/verify", () => {
  it("ok for an untouched chain, with the rows checked and its head", async () => {
    const { orgId } = await seedOrg();
    const rows = await chainRows(orgId);
    expect(await get<VerifyReport>(`/audit/verify?org=${orgId}`)).toEqual({
      org: orgId,
      ok: true,
      rows_checked: 7,
      last_seq: 7,
      last_hash: rows[6]?.hash,
      complete: true,
      next_cursor: null,
      broken: null,
    });
  });

  it("names the first broken link after a row is edited", async () => {
    const { orgId } = await seedOrg();
    const rows = await chainRows(orgId);
    await env.AUDIT_DB.prepare("UPDATE audit_event SET detail = '{}' WHERE id = ?").bind(rows[4]?.id).run();
    const report = await get<VerifyReport>(`/audit/verify?org=${orgId}`);
    expect(report).toMatchObject({ ok: false, rows_checked: 4, complete: false, next_cursor: null });
    expect(report.broken).toMatchObject({
      reason: "hash_mismatch",
      id: rows[4]?.id,
      seq: 5,
      expected_seq: 5,
      found_hash: rows[4]?.hash,
    });
    expect(report.broken?.expected_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(report.broken?.expected_hash).not.toBe(rows[4]?.hash);
  });

  it("pages with limit and cursor", async () => {
    const { orgId } = await seedOrg();
    const first = await get<VerifyReport>(`/audit/verify?org=${orgId}&limit=5`);
    expect(first).toMatchObject({ ok: true, complete: false, rows_checked: 5 });
    const rest = await get<VerifyReport>(
      `/audit/verify?org=${orgId}&limit=5&cursor=${encodeURIComponent(first.next_cursor as string)}`,
    );
    expect(rest).toMatchObject({ ok: true, complete: true, rows_checked: 2, last_seq: 7, next_cursor: null });
  });

  it("404 not_found for an id no org has and no chain holds; ok with 0 rows for an org with no events yet", async () => {
    const body = await expectHttpError(
      await adminRequest("GET", `/audit/verify?org=org-${crypto.randomUUID()}`, { token }),
      404,
      "not_found",
    );
    expect(body.error_description).toBe("no such organization, and no audit chain by that id");
    // Written straight to D1: creating it through the API would start its chain.
    const id = `org-${crypto.randomUUID()}`;
    await env.DB.prepare("INSERT INTO organization (id, name, slug, created_at) VALUES (?, 'Quiet', ?, ?)")
      .bind(id, id, Date.now())
      .run();
    expect(await get<VerifyReport>(`/audit/verify?org=${id}`)).toMatchObject({ org: id, ok: true, rows_checked: 0 });
  });

  it("400 invalid_query without org, with a bad cursor or limit, or an unknown parameter", async () => {
    const refusals: [string, RegExp][] = [
      ["", /^org: required/],
      ["org=x&cursor=12", /^cursor: `seq:hash`/],
      [`org=x&cursor=1:${"g".repeat(64)}`, /^cursor: `seq:hash`/],
      ["org=x&limit=1001", /^limit: an integer from 1 to 1000/],
      ["org=x&subject=y", /^subject: unknown query parameter/],
    ];
    for (const [query, description] of refusals) {
      const body = await expectHttpError(
        await adminRequest("GET", `/audit/verify?${query}`, { token }),
        400,
        "invalid_query",
      );
      expect(body.error_description, query).toMatch(description);
    }
  });
});

describe("admin API: who may read the audit trail", () => {
  const paths = ["/audit/events?org=x", "/audit/verify?org=x"];

  it("401 without a token; 401 invalid_token for an org client's API token", async () => {
    const apiToken = await clientToken(await registerTestClient());
    for (const path of paths) {
      const bare = await adminRequest("GET", path);
      expect(bare.headers.get("WWW-Authenticate")).toBe(`Bearer realm="${REALM}"`);
      await expectHttpError(bare, 401, "unauthorized");
      const wrong = await adminRequest("GET", path, { token: apiToken });
      expect(wrong.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
      await expectHttpError(wrong, 401, "invalid_token");
    }
  });

  it("403 insufficient_scope without admin; 403 forbidden for an admin token of an org", async () => {
    const operator = await registerOperator();
    const audience = adminAudience(env.ISSUER);
    const noAdmin = await mintedToken(operator, { audience, scope: "documents:read", orgId: PLATFORM_ORG_ID });
    const ofAnOrg = await mintedToken(operator, { audience, scope: "admin", orgId: "org-someone" });
    for (const path of paths) {
      const scoped = await adminRequest("GET", path, { token: noAdmin });
      expect(scoped.headers.get("WWW-Authenticate")).toContain('scope="admin"');
      await expectHttpError(scoped, 403, "insufficient_scope");
      await expectHttpError(await adminRequest("GET", path, { token: ofAnOrg }), 403, "forbidden");
    }
  });

  it("every read of the trail is itself audited, in the platform chain", async () => {
    const operator = await registerOperator();
    const own = await adminToken(operator);
    const orgId = `org-${crypto.randomUUID()}`;
    expect((await adminRequest("GET", `/audit/events?org=${orgId}&kind=token.*`, { token: own })).status).toBe(200);
    await expect
      .poll(async () => {
        const page = await events({ org: PLATFORM_ORG_ID, client: operator.clientId, kind: "admin.action" });
        return page.events.map((e) => e.detail);
      })
      .toEqual([
        expect.objectContaining({
          action: "audit.query",
          queried_org: orgId,
          filters: ["org", "kind"],
          path: "/admin/v1/audit/events",
          status: 200,
        }),
      ]);
  });
});
