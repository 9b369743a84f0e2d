// The PDP part: decision time with 10, 1 000 and 10 000 rules (goal: ≤ 3×
// from 10 to 10 000, bench/README.md). In-process in Node (V8, as in workerd):
// a decision is microseconds, far below what an HTTP round trip through
// `wrangler dev` could resolve. Alone: `npx node bench/lib/pdp-part.ts`.
import { type CompiledPolicy, compilePolicy } from "../../shared/policy/compile-policy.ts";
import { decide } from "../../shared/policy/decide.ts";
import type { DecisionInput, PolicyRule } from "../../shared/policy/types.ts";
import { DEFAULT_POLICY } from "../../shared/policy/default-policy.ts";
import { median, round, table } from "./stats.ts";

export const PDP_SIZES = [10, 1_000, 10_000] as const;
const ROUNDS = 7;
const DECISIONS_PER_ROUND = 20_000;
const ACTIONS = ["read", "write", "delete", "list"];

export interface PdpRow {
  rules: number;
  compileMs: number;
  /** compilePolicy(…, { lazy: true }), as a gateway compiles a published snapshot: the shape only. */
  lazyCompileMs: number;
  /** Median over the rounds of the mean time of one decision of the request mix. */
  decisionUs: number;
}

export interface PdpResult {
  rows: PdpRow[];
  /** decisionUs at 10 000 rules ÷ at 10 rules. */
  ratio: number;
}

/**
 * The same ten rules every size starts with: the default policy, a few
 * more on documents, one rule for every resource type and action (`*`),
 * so the requests measured meet the same rules whatever the size. The
 * rest is filler on other resource types, each condition distinct (no
 * sharing of compiled conditions), about ten rules per (type, action).
 */
function policyOf(size: number): PolicyRule[] {
  const core: PolicyRule[] = [
    ...DEFAULT_POLICY.rules,
    {
      id: "documents.suspended",
      effect: "deny",
      resource: "documents",
      actions: ["read", "write"],
      when: '"suspended" in subject.roles',
    },
    {
      id: "documents.office-hours-write",
      effect: "allow",
      resource: "documents",
      actions: ["write"],
      when: '"editor" in subject.roles && context.time.getHours("Europe/Berlin") >= 8',
    },
    {
      id: "documents.auditors",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: 'subject.roles.exists(r, r.startsWith("audit")) && context.dpop_bound',
      filter: { org_id: { attr: "subject.org_id" }, classification: { in: ["restricted"] } },
    },
    {
      id: "everything.blocked-clients",
      effect: "deny",
      resource: "*",
      actions: ["*"],
      when: 'subject.client_id in ["mac_blocked_1", "mac_blocked_2"]',
    },
  ];
  const rules = core.slice(0, Math.min(size, core.length));
  for (let i = rules.length; i < size; i++) {
    const type = `svc${Math.floor(i / (ACTIONS.length * 10))}`;
    const action = ACTIONS[i % ACTIONS.length] as string;
    rules.push(
      i % 5 === 0
        ? { id: `f${i}`, effect: "deny", resource: type, actions: [action], when: `subject.id == "blocked-${i}"` }
        : {
            id: `f${i}`,
            effect: "allow",
            resource: type,
            actions: [action],
            when: `"role-${i % 17}" in subject.roles && subject.org_id != "org-${i}"`,
            filter: { org_id: { attr: "subject.org_id" }, bucket: i },
          },
    );
  }
  return rules;
}

/** An owner reading, an agent acting for a member, a member without the scope (an explicit deny). */
function requestMix(): DecisionInput[] {
  const context = { method: "GET", path: "/api/documents", time: new Date("2026-11-30T10:00:00Z"), dpop_bound: true };
  const subject = { id: "u1", org_id: "o1", client_id: "mono-auth-web", roles: ["owner"], scope: ["documents:read"] };
  return [
    { subject, resource: { type: "documents" }, action: "read", context },
    {
      subject: { ...subject, roles: ["member", "auditor"] },
      actor: { id: "mac_agent", client_id: "mac_agent", chain: ["mac_agent"] },
      resource: { type: "documents" },
      action: "read",
      context,
    },
    { subject: { ...subject, roles: ["member"], scope: [] }, resource: { type: "documents" }, action: "read", context },
  ];
}

/** Microseconds per decision over `count` decisions cycling through the mix. */
function timeDecisions(policy: CompiledPolicy, mix: readonly DecisionInput[], count: number): number {
  let allowed = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    if (decide(policy, mix[i % mix.length] as DecisionInput, "bench").effect === "allow") allowed++;
  }
  const elapsed = performance.now() - start;
  // Two of the three requests are allowed: a policy that decides otherwise is not measuring the same work.
  if (allowed !== count - Math.floor(count / 3)) throw new Error(`PDP bench: ${allowed}/${count} allowed`);
  return (elapsed * 1000) / count;
}

export function measurePdp(): PdpResult {
  const mix = requestMix();
  const compiled = PDP_SIZES.map((size) => {
    const document = { format: 2, rules: policyOf(size) };
    let start = performance.now();
    const policy = compilePolicy(document);
    const compileMs = performance.now() - start;
    start = performance.now();
    compilePolicy(document, { lazy: true });
    return { size, policy, compileMs, lazyCompileMs: performance.now() - start, samples: [] as number[] };
  });
  for (const c of compiled) timeDecisions(c.policy, mix, DECISIONS_PER_ROUND); // warm-up, not recorded
  // Each round times every size, starting with a different one, so drift on a shared machine hits all alike.
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < compiled.length; k++) {
      const c = compiled[(r + k) % compiled.length] as (typeof compiled)[number];
      c.samples.push(timeDecisions(c.policy, mix, DECISIONS_PER_ROUND));
    }
  }
  const rows = compiled.map((c) => ({
    rules: c.size,
    compileMs: round(c.compileMs, 1),
    lazyCompileMs: round(c.lazyCompileMs, 1),
    decisionUs: round(median(c.samples), 3),
  }));
  const first = rows[0] as PdpRow;
  const last = rows[rows.length - 1] as PdpRow;
  return { rows, ratio: round(last.decisionUs / first.decisionUs) };
}

export function formatPdp(result: PdpResult): string {
  const header = ["PDP (in-process, Node)", "compile ms", "lazy compile ms", "µs / decision"];
  const rows = result.rows.map((r) => [
    `${r.rules} rules`,
    String(r.compileMs),
    String(r.lazyCompileMs),
    String(r.decisionUs),
  ]);
  const verdict = result.ratio <= 3 ? "goal ≤ 3× met" : "goal ≤ 3× NOT met";
  return `${table(header, rows)}\nratio ${PDP_SIZES.at(-1)} / ${PDP_SIZES[0]} rules: ${result.ratio}× (${verdict})`;
}

if (import.meta.main) console.log(formatPdp(measurePdp()));
