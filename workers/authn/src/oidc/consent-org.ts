import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../../shared/contracts/oidc.ts";
import { orgIdClaim } from "./org-claim.ts";

/** Better Auth's consent endpoint, as its router names the path (without the API prefix). */
const CONSENT_PATH = OIDC_ENDPOINT.consent.slice(ENDPOINT.authApi.length);

/** The refusal's `error_description`, which the consent page turns into its own (oidc/consent.tsx). */
export const CONSENT_NEEDS_ORG =
  "the session has no active organization of the person's; choose one, then authorize again";

function needsOrg(): APIError {
  return new APIError("BAD_REQUEST", { error: "invalid_request", error_description: CONSENT_NEEDS_ORG });
}

/**
 * An allowed consent is for the session's active org: Better Auth stores it
 * as the consent's and the code's `referenceId` (auth/plugins/oauth-provider.ts
 * consentReferenceId), and every token of the grant needs the person to be a
 * member of that org, not banned (oidc/org-claim.ts, RFC 6749 §5.2
 * `invalid_grant` at the token endpoint). An allow while the session had no
 * active org (cleared, or the org left or deleted after the page was shown)
 * stored a consent of no org and sent the client a code that every token
 * request then refused. So the allow is checked here as the token endpoint
 * will check its code, before Better Auth writes anything: `400
 * invalid_request` and no consent row, no code. The consent page shows the
 * person its own page (oidc/consent.tsx, NO_ACTIVE_ORG_CODE).
 *
 * Runs after the form is claimed (oidc/consent-claim.ts): the refused form
 * is spent, so the person starts again from the application and is shown
 * the consent page for the org they then pick, never this page's form
 * allowed for an org it did not name. A denial needs no org and is Better
 * Auth's as before (`access_denied` at the client, RFC 6749 §4.1.2.1).
 */
export function consentNeedsActiveOrg(db: D1Database): BetterAuthPlugin {
  return {
    id: "mono-consent-needs-active-org",
    hooks: {
      before: [
        {
          matcher: (ctx) => ctx.path === CONSENT_PATH,
          handler: createAuthMiddleware(async (ctx) => {
            // Only an allow mints anything; whatever is not a plain `false` is checked as one.
            const body = ctx.body as { accept?: unknown } | undefined;
            if (body?.accept === false) return;
            const session = await getSessionFromCtx(ctx);
            // No session: Better Auth's own 401 follows.
            if (!session) return;
            const orgId = (session.session as { activeOrganizationId?: string | null }).activeOrganizationId;
            if (!orgId) throw needsOrg();
            try {
              await orgIdClaim(db, session.user.id, orgId);
            } catch (error) {
              // The token endpoint's own refusals (no longer a member, banned); a failure to read is no answer.
              if (error instanceof APIError) throw needsOrg();
              throw error;
            }
          }),
        },
      ],
    },
  };
}
