import { HttpError } from "../../../../shared/errors/http.ts";
import { tokenConfig } from "../config.ts";
import { type KeyRecord, operatorRotation, RotationRefused, readKeys, retiresAt } from "../keys/rotation.ts";
import { keyStore } from "../keys/signing-keys.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import type { AdminApp } from "./types.ts";
import { onlyFields, optionalBoolean, optionalString } from "./validate.ts";
import { keySchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";

/** Most keys one list returns, newest first; a key is created about once per rotation period. */
const MAX_LISTED_KEYS = 100;

export interface KeyView {
  kid: string;
  status: KeyRecord["status"];
  created_at: string;
  /** When it stopped signing (a `previous` or `retired` key). */
  retired_from_signing_at: string | null;
  /** When a `previous` key leaves the JWKS (keys/rotation.ts, RETIREMENT_WINDOW_MS). */
  retires_at: string | null;
}

function keyView(key: KeyRecord): KeyView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    kid: key.kid,
    status: key.status,
    created_at: new Date(key.createdAt).toISOString(),
    retired_from_signing_at: iso(key.retiredFromSigningAt),
    retires_at: iso(retiresAt(key)),
  };
}

/**
 * The signing keys (keys/rotation.ts) for operators. Public halves only are
 * ever described; no private key leaves D1 sealed or not.
 *
 * GET /keys → `{ keys: [...] }`, newest first, retired ones included.
 * POST /keys/rotate `{ "emergency"?: boolean, "kid"?: string }` → 200 with
 * what the rotation did. Without `emergency`: the next key is promoted if it
 * has been published long enough, else 409 `conflict` (a next key is then
 * published, so a retry after the lead time succeeds). With
 * `"emergency": true`: `kid` (default: the current key) is retired at once
 * and stops verifying, and the next key signs; an unknown or already
 * retired `kid` is 404 `not_found`.
 */
export function keyRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/keys",
    { summary: "List the signing keys, newest first (public halves only)", response: keySchemas.list },
    async (c) => {
      auditDetail(c, { action: "keys.list" });
      const keys = await readKeys(c.env.DB, { includeRetired: true });
      return c.json({ keys: keys.reverse().slice(0, MAX_LISTED_KEYS).map(keyView) });
    },
  );

  route(
    admin,
    "post",
    "/keys/rotate",
    {
      summary: "Rotate the signing key (staged, or emergency: retire a key at once)",
      body: keySchemas.rotate,
      response: keySchemas.rotated,
    },
    async (c) => {
      const body = await readJsonObject(c);
      onlyFields(body, ["emergency", "kid"]);
      const emergency = optionalBoolean(body, "emergency") ?? false;
      const kid = optionalString(body, "kid", { max: 128 });
      if (kid !== undefined && !emergency) throw new HttpError("invalid_body", "kid: only with emergency");
      auditDetail(c, { action: "keys.rotate", emergency, ...(kid ? { kid } : {}) });
      try {
        const report = await operatorRotation(keyStore(c.env, tokenConfig(c.env)), { emergency, kid });
        auditDetail(c, {
          current: report.current,
          retired: report.retired,
          ...(report.promoted ? { promoted_from: report.promoted.from, promoted_to: report.promoted.to } : {}),
        });
        return c.json({
          current: report.current,
          next: report.next,
          promoted: report.promoted,
          retired: report.retired,
          created: report.created,
        });
      } catch (error) {
        if (!(error instanceof RotationRefused)) throw error;
        throw new HttpError(error.reason === "unknown_key" ? "not_found" : "conflict", error.message);
      }
    },
  );
}
