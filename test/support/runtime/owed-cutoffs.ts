// The org's Durable Object as the owed cut-off tests see it: a second
// cut-off owed (D1 `owed_member_cutoff`, `owed_org_cutoff`) is recorded once
// a token minted while the write was in flight is refused, and the object's
// own refusal is the way to leave a row owed (no stand-in for the object).
import { env } from "cloudflare:workers";
import { orgStateName } from "../../../shared/contracts/storage-keys.ts";

/**
 * An id the org's object cannot record a cut-off for: it records values of at
 * most 256 characters (workers/org-state/src/revocation-recording.ts), and a `subject`
 * or `org` cut-off's value is the person's or the org's id.
 */
export function unrecordableId(): string {
  return `${crypto.randomUUID()}${"0".repeat(300)}`;
}

/**
 * Whether the org's object refuses a token of `sub` in the org minted while
 * the write was in flight: a second ago, or at `mintedAt` (ms) when the check
 * comes long after the write (cron runs on a loaded machine take seconds).
 */
export function inFlightTokenRevoked(
  orgId: string,
  sub: string = crypto.randomUUID(),
  mintedAt: number = Date.now() - 1000,
): Promise<boolean> {
  return env.ORG_STATE.getByName(orgStateName(orgId)).isRevoked({
    jti: crypto.randomUUID(),
    sub,
    client_id: "in-flight",
    org_id: orgId,
    iat: Math.floor(mintedAt / 1000),
  });
}

/** An org whose id the org's object cannot record a cut-off for; with `ownerId`, that person owns it. */
export async function unrecordableOrg(ownerId?: string): Promise<string> {
  const orgId = unrecordableId();
  const now = Date.now();
  const statements = [
    env.DB.prepare("INSERT INTO organization (id, name, slug, created_at) VALUES (?, 'Unrevocable', ?, ?)").bind(
      orgId,
      `unrevocable-${crypto.randomUUID()}`,
      now,
    ),
  ];
  if (ownerId !== undefined) {
    statements.push(
      env.DB.prepare(
        "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'owner', ?)",
      ).bind(crypto.randomUUID(), orgId, ownerId, now),
    );
  }
  await env.DB.batch(statements);
  return orgId;
}
