import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { KV_KEY, orgStateName } from "../../shared/contracts/storage-keys.ts";
import { type CompiledPolicy, compilePolicy } from "../../shared/policy/compile-policy.ts";
import { DEFAULT_POLICY } from "../../shared/policy/default-policy.ts";
import {
  PolicyStore,
  type PolicyStoreOptions,
  PolicyUnavailableError,
  type PolicyVersionSource,
} from "../../workers/gateway/src/policy/policy-store.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// The gateway's policy loading against the real KV and the real per-org
// Durable Object: versions come from a source the test controls (as the
// revocation view's snapshot would give them), documents from KV.

/** The default policy's document with no rules: default deny for everything. */
const DENY_ALL = { ...DEFAULT_POLICY, rules: [] };

const defaultPolicy = compilePolicy(DEFAULT_POLICY);

/** Versions per org, as the object would name them. */
class Versions implements PolicyVersionSource {
  readonly current = new Map<string, number | null>();
  async policyVersion(orgId: string): Promise<number | null> {
    return this.current.get(orgId) ?? null;
  }
}

/** The real KV namespace, with its reads counted (what the store costs KV). */
function countingKv(): { kv: KVNamespace; reads: () => number } {
  let reads = 0;
  const kv = {
    get: (...args: Parameters<KVNamespace["get"]>) => {
      reads += 1;
      return (env.KV.get as (...a: unknown[]) => Promise<unknown>)(...args);
    },
  } as unknown as KVNamespace;
  return { kv, reads: () => reads };
}

function store(kv: KVNamespace, versions: Versions, options: Partial<PolicyStoreOptions> = {}) {
  return new PolicyStore(kv, versions, { defaultPolicy, maxEntries: 100, retryAfterMs: 0, ...options });
}

function putSnapshot(orgId: string, version: number, document: unknown): Promise<void> {
  return env.KV.put(KV_KEY.policy(orgId, version), JSON.stringify(document));
}

function newOrg(): string {
  return `org-${crypto.randomUUID()}`;
}

/** A version as the lifecycle saves it in D1 (workers/token/src/policies/versions.ts), before its KV snapshot shows everywhere. */
async function saveVersion(orgId: string, version: number, document: unknown): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO policy_version (org_id, version, document, tests, status, created_by, created_at)
     VALUES (?, ?, ?, '[]', 'draft', 'test', ?)`,
  )
    .bind(orgId, version, JSON.stringify(document), Date.now())
    .run();
}

describe("policy store", () => {
  it("gives an org that has published nothing the default policy, without reading KV", async () => {
    const { kv, reads } = countingKv();
    expect(await store(kv, new Versions()).policyFor(newOrg())).toBe(defaultPolicy);
    expect(reads()).toBe(0);
  });

  it("loads a version's snapshot from KV once, compiles it once, and keeps it for good (versions are immutable)", async () => {
    const org = newOrg();
    const versions = new Versions();
    versions.current.set(org, 1);
    await putSnapshot(org, 1, DENY_ALL);
    const { kv, reads } = countingKv();
    const policies = store(kv, versions);
    const all = await Promise.all(Array.from({ length: 20 }, () => policies.policyFor(org)));
    const first = all[0] as CompiledPolicy;
    expect(first).not.toBe(defaultPolicy);
    expect(all.every((p) => p === first)).toBe(true);
    expect(reads()).toBe(1);
    await env.KV.delete(KV_KEY.policy(org, 1));
    expect(await policies.policyFor(org)).toBe(first);
    expect(reads()).toBe(1);
  });

  it("switches when the version changes, and back on rollback without reading KV again", async () => {
    const org = newOrg();
    const versions = new Versions();
    await putSnapshot(org, 1, DEFAULT_POLICY);
    await putSnapshot(org, 2, DENY_ALL);
    const { kv, reads } = countingKv();
    const policies = store(kv, versions);
    versions.current.set(org, 1);
    const v1 = await policies.policyFor(org);
    versions.current.set(org, 2);
    const v2 = await policies.policyFor(org);
    expect(v2).not.toBe(v1);
    versions.current.set(org, 1);
    expect(await policies.policyFor(org)).toBe(v1);
    expect(reads()).toBe(2);
  });

  it("keeps deciding with the policy it last served while KV lacks the new version's snapshot, then switches", async () => {
    const org = newOrg();
    const versions = new Versions();
    await putSnapshot(org, 1, DEFAULT_POLICY);
    const policies = store(env.KV, versions);
    versions.current.set(org, 1);
    const v1 = await policies.policyFor(org);
    versions.current.set(org, 2);
    expect(await policies.policyFor(org)).toBe(v1);
    await putSnapshot(org, 2, DENY_ALL);
    const v2 = await policies.policyFor(org);
    expect(v2).not.toBe(v1);
  });

  it("never falls back to the default policy for an org that has published: nothing served yet → PolicyUnavailableError", async () => {
    const org = newOrg();
    const versions = new Versions();
    versions.current.set(org, 4);
    const policies = store(env.KV, versions);
    await expect(policies.policyFor(org)).rejects.toBeInstanceOf(PolicyUnavailableError);
    await env.KV.put(KV_KEY.policy(org, 4), "{ not json");
    await expect(policies.policyFor(org)).rejects.toBeInstanceOf(PolicyUnavailableError);
    await env.KV.put(KV_KEY.policy(org, 4), JSON.stringify({ format: "no such format", rules: "none" }));
    await expect(policies.policyFor(org)).rejects.toBeInstanceOf(PolicyUnavailableError);
  });

  it("never falls back to the default policy it served an org before its first publish", async () => {
    const org = newOrg();
    const versions = new Versions();
    const policies = store(env.KV, versions);
    expect(await policies.policyFor(org)).toBe(defaultPolicy);
    // v1 is named current, and neither KV nor the token Worker gives its snapshot yet.
    versions.current.set(org, 1);
    await expect(policies.policyFor(org)).rejects.toBeInstanceOf(PolicyUnavailableError);
  });

  it("asks KV about a missing snapshot at most once per retry interval", async () => {
    const org = newOrg();
    const versions = new Versions();
    versions.current.set(org, 1);
    const { kv, reads } = countingKv();
    const policies = store(kv, versions, { retryAfterMs: 3_600_000 });
    await expect(policies.policyFor(org)).rejects.toBeInstanceOf(PolicyUnavailableError);
    await putSnapshot(org, 1, DENY_ALL);
    await expect(policies.policyFor(org)).rejects.toBeInstanceOf(PolicyUnavailableError);
    expect(reads()).toBe(1);
  });

  it("holds at most maxEntries compiled versions, evicting the least recently used", async () => {
    const versions = new Versions();
    const orgs = [newOrg(), newOrg(), newOrg()];
    for (const org of orgs) {
      versions.current.set(org, 1);
      await putSnapshot(org, 1, DENY_ALL);
    }
    const { kv, reads } = countingKv();
    const policies = store(kv, versions, { maxEntries: 2 });
    const [a, b, c] = orgs as [string, string, string];
    await policies.policyFor(a);
    await policies.policyFor(b);
    await policies.policyFor(a);
    await policies.policyFor(c); // evicts b, the least recently used
    expect(reads()).toBe(3);
    await policies.policyFor(a);
    expect(reads()).toBe(3);
    await policies.policyFor(b);
    expect(reads()).toBe(4);
  });
});

describe("gateway decisions follow the org's published version (staleness bound 0 here)", () => {
  let signer: TestSigner;
  const URL_DOCS = `http://localhost:8787${ENDPOINT.documents}`;

  beforeAll(async () => {
    signer = await testSigner();
  });
  beforeEach(() => signer.publish());

  async function documents(orgId: string): Promise<Response> {
    const token = await signer.sign(memberClaims({ org_id: orgId }));
    return gatewayFetch(URL_DOCS, { headers: { Authorization: `Bearer ${token}` } });
  }

  it("publish → the next decision uses it; rollback → back", async () => {
    const org = newOrg();
    const object = env.ORG_STATE.getByName(orgStateName(org));
    expect((await documents(org)).status).toBe(200);

    // As the lifecycle publishes: the KV snapshot first, then the object.
    await putSnapshot(org, 1, DENY_ALL);
    await object.setPolicyVersion(1);
    const denied = await documents(org);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: "access_denied", error_description: "no_matching_allow" });

    await putSnapshot(org, 2, DEFAULT_POLICY);
    await object.setPolicyVersion(2);
    expect((await documents(org)).status).toBe(200);

    await object.setPolicyVersion(1);
    expect((await documents(org)).status).toBe(403);
  });

  it("a version this location's KV does not show yet is read from the token Worker: an older one never decides after the switch", async () => {
    const org = newOrg();
    const object = env.ORG_STATE.getByName(orgStateName(org));
    await putSnapshot(org, 1, DEFAULT_POLICY);
    await object.setPolicyVersion(1);
    expect((await documents(org)).status).toBe(200);

    // v2 cuts the org off and reaches KV everywhere while this isolate serves the org nothing;
    // v3 is named current before this location's KV shows its snapshot (up to a minute).
    await saveVersion(org, 2, DENY_ALL);
    await putSnapshot(org, 2, DENY_ALL);
    await object.setPolicyVersion(2);
    await saveVersion(org, 3, DENY_ALL);
    await object.setPolicyVersion(3);
    const denied = await documents(org);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: "access_denied", error_description: "no_matching_allow" });
  });

  it("answers 503 temporarily_unavailable, never the default policy, when the current version cannot be loaded", async () => {
    const org = newOrg();
    // Served the default policy first: it is not what this org's v7 falls back to.
    expect((await documents(org)).status).toBe(200);
    await env.ORG_STATE.getByName(orgStateName(org)).setPolicyVersion(7);
    const response = await documents(org);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: "temporarily_unavailable" });
  });
});
