import type { GrantContext } from "../grants/types.ts";
import { ourKeyResolver } from "./our-keys.ts";
import { RevocationReader } from "./revocations.ts";
import type { VerificationContext } from "./types.ts";

/** One request's verification context: keys and revocations are read lazily, at most once each. */
export function verificationContext(context: GrantContext): VerificationContext {
  return {
    ...context,
    resolveKey: ourKeyResolver(context.env.DB),
    revocations: new RevocationReader(context.env.ORG_STATE),
  };
}
