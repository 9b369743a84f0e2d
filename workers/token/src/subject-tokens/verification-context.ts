import type { GrantContext } from "../grants/types.ts";
import { databaseKeyResolver } from "../keys/database-key-resolver.ts";
import { RevocationReader } from "../revocation/revocation-reader.ts";
import type { VerificationContext } from "./types.ts";

/**
 * One request's verification context: keys are read at most once (the
 * endpoint may have started that read already, GrantContext.ourKeys), and
 * revocations once per org (subject-tokens/not-revoked.ts).
 */
export function verificationContext(context: GrantContext): VerificationContext {
  return {
    ...context,
    resolveKey: context.ourKeys ?? databaseKeyResolver(context.env.DB),
    revocations: new RevocationReader(context.env.ORG_STATE),
  };
}
