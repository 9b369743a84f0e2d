import { KV_KEY } from "../../../../shared/contracts/storage-keys.ts";
import {
  CLOCK_TOLERANCE_SECONDS,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  MAX_HOST_INVITE_TTL_SECONDS,
  MAX_ID_JAG_LIFETIME_SECONDS,
} from "../../../../shared/contracts/tokens.ts";
import { generateSigningKey, type NewSigningKey } from "./generate-key.ts";
import {
  forgetCachedSigningKey,
  type Jwks,
  type KeyStore,
  loadCurrentSigningKey,
  publishJwks,
  SIGNING_KEY_CACHE_MS,
} from "./signing-keys.ts";

/**
 * Staged rotation of the signing keys (`signing_key.status`):
 *
 *   next ──promote──▶ current ──promote──▶ previous ──window over──▶ retired
 *
 * - `next` is published in the JWKS from the moment it is created, and
 *   signs only once it has been published for the rotation period
 *   (scheduled) or at least PUBLISH_LEAD_MS (manual), so every verifier
 *   holds it before the first token it signs.
 * - `previous` stopped signing at `retired_from_signing_at` and stays
 *   published until every token it signed has expired (RETIREMENT_WINDOW_MS),
 *   then it is `retired`: dropped from the JWKS, kept in D1 for the record.
 * - An emergency rotation retires a key at once (it stops verifying
 *   everywhere the JWKS is read from D1 or KV) and promotes the next key
 *   without waiting.
 *
 * Every change is one D1 batch (a transaction) whose statements are each
 * conditional on the state they expect, so two isolates rotating at once
 * make one rotation, never two `current` keys (the partial unique index on
 * `status = 'current'` backs that). The KV copy of the JWKS is rewritten
 * after every change and never on a read.
 */

/**
 * The longest any JWT we sign lives: access tokens, ID-JAGs and host
 * invites (shared/contracts/tokens.ts) are all signed with these keys.
 */
const LONGEST_SIGNED_LIFETIME_SECONDS = Math.max(
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  MAX_ID_JAG_LIFETIME_SECONDS,
  MAX_HOST_INVITE_TTL_SECONDS,
);

/**
 * How long a key stays published after it stopped signing: an isolate may
 * go on signing with it for SIGNING_KEY_CACHE_MS after the promotion, the
 * last token it signs lives at most LONGEST_SIGNED_LIFETIME_SECONDS, and
 * verifiers accept it CLOCK_TOLERANCE_SECONDS past its `exp`.
 */
export const RETIREMENT_WINDOW_MS =
  SIGNING_KEY_CACHE_MS + (LONGEST_SIGNED_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000;

/**
 * How long a `next` key must have been published before a manual rotation
 * lets it sign: the JWKS endpoint's `max-age` (endpoints/jwks.ts, 300 s)
 * plus KV's propagation (up to 60 s), so a verifier that caches the set
 * has seen it. The scheduled rotation waits the whole rotation period.
 */
export const PUBLISH_LEAD_MS = 360_000;

export type KeyStatus = "next" | "current" | "previous" | "retired";

export interface KeyRecord {
  kid: string;
  status: KeyStatus;
  /** Milliseconds since the epoch. */
  createdAt: number;
  retiredFromSigningAt: number | null;
}

/** What one rotation run did, for the admin API and the log. */
export interface RotationReport {
  /** The kid that signs after the run. */
  current: string;
  next: string | null;
  promoted: { from: string; to: string } | null;
  /** Keys this run moved to `retired` (dropped from the JWKS). */
  retired: string[];
  /** Keys this run created. */
  created: string[];
  /** Whether the KV copy of the JWKS was rewritten. */
  published: boolean;
}

/** Why an operator's rotation was refused: no such published key, or a next key published too recently. */
export class RotationRefused extends Error {
  override readonly name = "RotationRefused";
  constructor(
    readonly reason: "unknown_key" | "next_not_ready",
    message: string,
  ) {
    super(message);
  }
}

interface RotationTime {
  /** Milliseconds since the epoch. */
  now?: number;
}

/**
 * The cron's run (index.ts `scheduled`): retire `previous` keys whose
 * window is over, make sure a `next` key is published, and promote it once
 * it has been published for the whole rotation period (the next key is
 * created when the last rotation happened, so its age is the current key's
 * time as signer).
 */
export async function scheduledRotation(
  store: KeyStore,
  options: RotationTime & { rotationPeriodSeconds: number },
): Promise<RotationReport> {
  const now = options.now ?? Date.now();
  const report = emptyReport();
  report.retired = await retireExpiredKeys(store.DB, now);
  let keys = await ensureCurrentAndNext(store, now, report);
  const current = keys.find((k) => k.status === "current");
  const next = keys.find((k) => k.status === "next");
  if (current && next && next.createdAt <= now - options.rotationPeriodSeconds * 1000) {
    report.promoted = await promote(store, current.kid, next.kid, now, report);
    keys = await readKeys(store.DB);
  }
  return finish(store, keys, report);
}

/**
 * An operator's rotation (admin/keys.ts). Normal: promote the `next` key if
 * it has been published for at least PUBLISH_LEAD_MS, else RotationRefused
 * (after making sure one is published). Emergency: retire `kid` (default:
 * the current key) at once, promote the next key if the current one was
 * retired, and publish a fresh next key.
 */
export async function operatorRotation(
  store: KeyStore,
  options: RotationTime & { emergency: boolean; kid?: string },
): Promise<RotationReport> {
  const now = options.now ?? Date.now();
  const report = emptyReport();
  report.retired = await retireExpiredKeys(store.DB, now);
  let keys = await ensureCurrentAndNext(store, now, report);
  const current = keys.find((k) => k.status === "current");
  if (!current) throw new Error("no current signing key");
  if (options.emergency) {
    const target = options.kid ?? current.kid;
    const key = keys.find((k) => k.kid === target);
    if (!key) {
      // Already retired in D1 is what an operator's retry finds when the first
      // run's KV rewrite failed: the copy is reconciled here, as the refused
      // normal rotation below does, rather than left to the next cron run
      // while the gateways accept the retired key.
      await finish(store, keys, report);
      throw new RotationRefused("unknown_key", `no published key ${target}`);
    }
    report.retired.push(...(await retireNow(store, key, now, report)));
    keys = await readKeys(store.DB);
    const after = keys.find((k) => k.status === "current");
    if (after && after.kid !== current.kid) report.promoted = { from: current.kid, to: after.kid };
    return finish(store, keys, report);
  }
  const next = keys.find((k) => k.status === "next");
  if (!next || next.createdAt > now - PUBLISH_LEAD_MS) {
    const since = next ? Math.floor((now - next.createdAt) / 1000) : 0;
    await finish(store, keys, report);
    throw new RotationRefused(
      "next_not_ready",
      `the next key has been published for ${since} s; it may sign after ${PUBLISH_LEAD_MS / 1000} s`,
    );
  }
  report.promoted = await promote(store, current.kid, next.kid, now, report);
  return finish(store, await readKeys(store.DB), report);
}

/** Every key not yet retired, oldest first. */
export async function readKeys(db: D1Database, options: { includeRetired?: boolean } = {}): Promise<KeyRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT kid, status, created_at, retired_from_signing_at FROM signing_key
       ${options.includeRetired ? "" : "WHERE status != 'retired'"} ORDER BY created_at, kid`,
    )
    .all<{ kid: string; status: KeyStatus; created_at: number; retired_from_signing_at: number | null }>();
  return results.map((r) => ({
    kid: r.kid,
    status: r.status,
    createdAt: r.created_at,
    retiredFromSigningAt: r.retired_from_signing_at,
  }));
}

/** When a `previous` key leaves the JWKS (milliseconds), or null for a key that has not stopped signing. */
export function retiresAt(key: KeyRecord): number | null {
  if (key.status !== "previous" || key.retiredFromSigningAt === null) return null;
  return key.retiredFromSigningAt + RETIREMENT_WINDOW_MS;
}

function emptyReport(): RotationReport {
  return { current: "", next: null, promoted: null, retired: [], created: [], published: false };
}

async function retireExpiredKeys(db: D1Database, now: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      `UPDATE signing_key SET status = 'retired'
       WHERE status = 'previous' AND retired_from_signing_at IS NOT NULL AND retired_from_signing_at <= ?
       RETURNING kid`,
    )
    .bind(now - RETIREMENT_WINDOW_MS)
    .all<{ kid: string }>();
  return results.map((r) => r.kid);
}

/** A current key (the first one, on a fresh deployment) and a published next key. */
async function ensureCurrentAndNext(store: KeyStore, now: number, report: RotationReport): Promise<KeyRecord[]> {
  let keys = await readKeys(store.DB);
  if (!keys.some((k) => k.status === "current")) {
    await loadCurrentSigningKey(store);
    keys = await readKeys(store.DB);
  }
  if (!keys.some((k) => k.status === "next")) {
    const next = await generateSigningKey(store.sealingSecret, now);
    const inserted = await insertIfAbsent(store.DB, next, "next").run();
    if (inserted.meta.changes) report.created.push(next.kid);
    keys = await readKeys(store.DB);
  }
  return keys;
}

/**
 * next → current, current → previous, and a new next, in one transaction.
 * The demotion happens only if the expected next key is still `next`, and
 * the promotion only if no key is `current` by then; a racing rotation that
 * already did it leaves every statement a no-op.
 */
async function promote(
  store: KeyStore,
  currentKid: string,
  nextKid: string,
  now: number,
  report: RotationReport,
): Promise<{ from: string; to: string } | null> {
  const fresh = await generateSigningKey(store.sealingSecret, now);
  const [, promoted, inserted] = await store.DB.batch([
    store.DB.prepare(
      `UPDATE signing_key SET status = 'previous', retired_from_signing_at = ?
       WHERE kid = ? AND status = 'current'
         AND EXISTS (SELECT 1 FROM signing_key WHERE kid = ? AND status = 'next')`,
    ).bind(now, currentKid, nextKid),
    store.DB.prepare(
      `UPDATE signing_key SET status = 'current'
       WHERE kid = ? AND status = 'next' AND NOT EXISTS (SELECT 1 FROM signing_key WHERE status = 'current')`,
    ).bind(nextKid),
    insertIfAbsent(store.DB, fresh, "next"),
  ]);
  if (inserted?.meta.changes) report.created.push(fresh.kid);
  if (!promoted?.meta.changes) return null;
  forgetCachedSigningKey();
  return { from: currentKid, to: nextKid };
}

/**
 * Emergency: `key` is retired now, whatever its status; if no key is
 * `current` after that, the next key is promoted (or, with none, a fresh
 * key becomes current), and a fresh next key is published. One transaction.
 */
async function retireNow(store: KeyStore, key: KeyRecord, now: number, report: RotationReport): Promise<string[]> {
  const [fallback, fresh] = await Promise.all([
    generateSigningKey(store.sealingSecret, now),
    generateSigningKey(store.sealingSecret, now),
  ]);
  const [retired, , fallbackInserted, freshInserted] = await store.DB.batch([
    store.DB.prepare(
      `UPDATE signing_key SET status = 'retired', retired_from_signing_at = coalesce(retired_from_signing_at, ?)
       WHERE kid = ? AND status != 'retired'`,
    ).bind(now, key.kid),
    store.DB.prepare(
      `UPDATE signing_key SET status = 'current'
       WHERE kid = (SELECT kid FROM signing_key WHERE status = 'next' ORDER BY created_at LIMIT 1)
         AND NOT EXISTS (SELECT 1 FROM signing_key WHERE status = 'current')`,
    ),
    insertIfAbsent(store.DB, fallback, "current"),
    insertIfAbsent(store.DB, fresh, "next"),
  ]);
  if (fallbackInserted?.meta.changes) report.created.push(fallback.kid);
  if (freshInserted?.meta.changes) report.created.push(fresh.kid);
  forgetCachedSigningKey();
  return retired?.meta.changes ? [key.kid] : [];
}

/** INSERT of a new key with `status`, only if no key has that status (a racing run may have made one). */
function insertIfAbsent(db: D1Database, key: NewSigningKey, status: "next" | "current"): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO signing_key (kid, alg, status, public_jwk, private_jwk_sealed, created_at)
       SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_key WHERE status = ?)`,
    )
    .bind(key.kid, key.alg, status, key.publicJwk, key.privateJwkSealed, key.createdAt, status);
}

/**
 * Rewrites the KV copy when this run changed the key set, or when the copy
 * does not list exactly the published keys (a rewrite that failed before):
 * the cron reconciles it, no read ever does.
 */
async function finish(store: KeyStore, keys: KeyRecord[], report: RotationReport): Promise<RotationReport> {
  report.current = keys.find((k) => k.status === "current")?.kid ?? "";
  report.next = keys.find((k) => k.status === "next")?.kid ?? null;
  const changed = report.promoted !== null || report.retired.length > 0 || report.created.length > 0;
  if (changed || !(await kvMatches(store, keys))) {
    await publishJwks(store);
    report.published = true;
  }
  return report;
}

async function kvMatches(store: KeyStore, keys: KeyRecord[]): Promise<boolean> {
  const stored = await store.KV.get<Jwks>(KV_KEY.jwks, "json");
  const published = (stored?.keys ?? []).map((k) => String(k.kid)).sort();
  const expected = keys
    .filter((k) => k.status !== "retired")
    .map((k) => k.kid)
    .sort();
  return published.length === expected.length && published.every((kid, i) => kid === expected[i]);
}
