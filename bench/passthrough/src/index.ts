import { TRUSTED_HEADER } from "../../../shared/contracts/headers.ts";

/**
 * The baseline contestant of `npm run bench`: everything the gateway does
 * minus verification and policy. The identity and filter are fixed so the
 * demo service filters the same rows it filters behind the gateway.
 *
 * The Env is spelled out here rather than generated: this file is also
 * type-checked by the root (Node) project, which has no Workers types.
 */
interface PassthroughEnv {
  DEMO: { fetch(request: Request): Promise<Response> };
}

const FIXED_IDENTITY = {
  userId: "bench-user",
  orgId: "bench-org",
  // The filter the gateway's default policy computes for the bench's caller,
  // the owner of a fresh org: two allow rules matched, joined with `any`.
  abacFilter: JSON.stringify({
    any: [
      { org_id: "bench-org", classification: { in: ["public", "internal"] } },
      { org_id: "bench-org", classification: { in: ["confidential"] } },
    ],
  }),
} as const;

export default {
  async fetch(request: Request, env: PassthroughEnv): Promise<Response> {
    const forwarded = new Request(request);
    forwarded.headers.set(TRUSTED_HEADER.userId, FIXED_IDENTITY.userId);
    forwarded.headers.set(TRUSTED_HEADER.orgId, FIXED_IDENTITY.orgId);
    forwarded.headers.set(TRUSTED_HEADER.abacFilter, FIXED_IDENTITY.abacFilter);
    return env.DEMO.fetch(forwarded);
  },
};
