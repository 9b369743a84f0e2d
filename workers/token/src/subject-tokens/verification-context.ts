import type { GrantContext } from "../grants/types.ts";
import { databaseKeyResolver } from "../keys/database-key-resolver.ts";
import { RevocationReader } from "../revocation/revocation-reader.ts";
import type { VerificationContext } from "./types.ts";

/** One request's verification context: keys and revocations are read lazily, at most once each. */
export function verificationContext(context: GrantContext): VerificationContext {
  return {
    ...context,
    resolveKey: databaseKeyResolver(context.env.DB),
    revocations: new RevocationReader(context.env.ORG_STATE),
  };
}
