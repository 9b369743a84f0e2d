import { TRUSTED_HEADER } from "../../../shared/contracts/headers.ts";
import { AssertionSigner } from "../../../workers/gateway/src/assertion/assertion-signer.ts";

/**
 * The baseline contestant of `npm run bench`: everything the gateway does
 * on the way to the demo service minus token verification, revocation,
 * policy and audit. It sets the trusted headers and signs the gateway
 * assertion over them, with the gateway's own signer and key (the demo
 * service verifies it and refuses a request without one), so the demo
 * service does the same work in both contestants and the difference is
 * the gateway's own checks. The identity and filter are fixed so the demo
 * service filters the same rows it filters behind the gateway.
 *
 * The Env is spelled out here rather than generated: this file is also
 * type-checked by the root (Node) project, which has no Workers types.
 * The bench writes the vars to the .dev.vars beside wrangler.toml.
 */
interface PassthroughEnv {
  DEMO: { fetch(request: Request): Promise<Response> };
  /** The system's issuer: the assertion's `iss`, as the gateway signs it. */
  ISSUER: string;
  /** The demo API's audience: the assertion's `aud`. */
  API_AUDIENCE: string;
  GATEWAY_ASSERTION_KEY: string;
}

const FIXED_IDENTITY = {
  userId: "bench-user",
  orgId: "bench-org",
  clientId: "bench-passthrough",
  // The filter the gateway's default policy computes for the bench's caller,
  // the owner of a fresh org: two allow rules matched, joined with `any`.
  abacFilter: JSON.stringify({
    any: [
      { org_id: "bench-org", classification: { in: ["public", "internal"] } },
      { org_id: "bench-org", classification: { in: ["confidential"] } },
    ],
  }),
} as const;

/** Derived and imported once per isolate, as the gateway does. */
let signer: Promise<AssertionSigner> | undefined;

export default {
  async fetch(request: Request, env: PassthroughEnv): Promise<Response> {
    signer ??= AssertionSigner.create(env.GATEWAY_ASSERTION_KEY, env.ISSUER);
    // The demo receives this URL as it is: its path and query are what the assertion binds.
    const url = new URL(request.url);
    const forwarded = new Request(request);
    forwarded.headers.set(TRUSTED_HEADER.userId, FIXED_IDENTITY.userId);
    forwarded.headers.set(TRUSTED_HEADER.orgId, FIXED_IDENTITY.orgId);
    forwarded.headers.set(TRUSTED_HEADER.abacFilter, FIXED_IDENTITY.abacFilter);
    const assertion = await (await signer).sign({
      audience: env.API_AUDIENCE,
      sub: FIXED_IDENTITY.userId,
      orgId: FIXED_IDENTITY.orgId,
      act: undefined,
      clientId: FIXED_IDENTITY.clientId,
      decisionId: crypto.randomUUID(),
      abacFilter: FIXED_IDENTITY.abacFilter,
      method: request.method,
      path: url.pathname,
      search: url.search,
    });
    forwarded.headers.set(TRUSTED_HEADER.gatewayAssertion, assertion);
    return env.DEMO.fetch(forwarded);
  },
};
