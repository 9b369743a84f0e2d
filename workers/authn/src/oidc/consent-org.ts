import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../../shared/contracts/oidc.ts";
import { bodyText } from "../http/body-text.ts";
import { CONSENT_ORG_FIELD, consentOrgShown } from "./consent-org-binding.ts";
import { orgIdClaim } from "./org-claim.ts";

/** Better Auth's consent endpoint, as its router names the path (without the API prefix). */
const CONSENT_PATH = OIDC_ENDPOINT.consent.slice(ENDPOINT.authApi.length);

/** The refusal's `error_description`, which the consent page turns into its own (oidc/consent.tsx). */
export const CONSENT_NEEDS_ORG =
  "the session has no active organization of the person's; choose one, then authorize again";

/** The refusal's `error_description` when the active org is no longer the one the page showed (oidc/consent.tsx). */
export const CONSENT_ORG_CHANGED =
  "the session's active organization is not the one the consent page showed; authorize again";

/** The refusal's `error_description` for an allow that does not carry the page's binding of its org. */
export const CONSENT_ORG_UNBOUND = `an allow must carry ${CONSENT_ORG_FIELD}, the organization its consent page showed`;

function refusal(description: string): APIError {
  return new APIError("BAD_REQUEST", { error: "invalid_request", error_description: description });
}

/**
 * An allowed consent is for the org the consent page showed, and that org
 * must still be the session's active org. Better Auth stores the session's
 * active org as the consent's and the code's `referenceId`
 * (auth/plugins/oauth-provider.ts consentReferenceId), and every token of
 * the grant needs the person to be a member of that org, not banned
 * (oidc/org-claim.ts, RFC 6749 §5.2 `invalid_grant` at the token endpoint).
 *
 * - The page's form carries the org it showed, bound to its signed request
 *   (oidc/consent-org-binding.ts). Better Auth reads the active org at the
 *   post, not at the page: a switch to another org in another tab within
 *   the form's minute made the consent, and the code, another org's than
 *   the one the person read and allowed. An allow whose session is no
 *   longer in the page's org is refused (`400 invalid_request`
 *   CONSENT_ORG_CHANGED; the page's code `consent_organization_changed`),
 *   as Keycloak and Okta end a login or consent whose context changed
 *   under it and have the person start again, rather than move the answer
 *   to another context. An allow without the binding, or with one made for
 *   another request or edited, is refused `400 invalid_request`
 *   CONSENT_ORG_UNBOUND: it says nothing of what the person was shown.
 * - An allow while the session had no active org (cleared, or the org left
 *   or deleted after the page was shown) stored a consent of no org and sent
 *   the client a code that every token request then refused. So the allow is
 *   checked here as the token endpoint will check its code: `400
 *   invalid_request` CONSENT_NEEDS_ORG (the page's NO_ACTIVE_ORG_CODE).
 *
 * Each refusal comes before Better Auth writes anything: no consent row, no
 * code. Runs after the form is claimed (oidc/consent-claim.ts): the refused
 * form is spent, so the person starts again from the application and is
 * shown the consent page for the org they are then in, never this page's
 * form allowed for an org it did not name. A denial needs no org and is
 * Better Auth's as before (`access_denied` at the client, RFC 6749 §4.1.2.1).
 */
export function consentNeedsActiveOrg(db: D1Database, secret: string): BetterAuthPlugin {
  return {
    id: "mono-consent-needs-active-org",
    hooks: {
      before: [
        {
          matcher: (ctx) => ctx.path === CONSENT_PATH,
          handler: createAuthMiddleware(async (ctx) => {
            // Only an allow mints anything; whatever is not a plain `false` is checked as one.
            const body = ctx.body as { accept?: unknown; [CONSENT_ORG_FIELD]?: unknown } | undefined;
            if (body?.accept === false) return;
            const signature = new URLSearchParams(bodyText(ctx.body, "oauth_query")).get("sig");
            // Nothing signed: Better Auth's own "missing oauth query" answer follows.
            if (!signature) return;
            const session = await getSessionFromCtx(ctx);
            // No session: Better Auth's own 401 follows.
            if (!session) return;
            const shown = await consentOrgShown(secret, signature, body?.[CONSENT_ORG_FIELD]);
            if (!shown) throw refusal(CONSENT_ORG_UNBOUND);
            const orgId = (session.session as { activeOrganizationId?: string | null }).activeOrganizationId;
            if (!orgId) throw refusal(CONSENT_NEEDS_ORG);
            if (orgId !== shown) throw refusal(CONSENT_ORG_CHANGED);
            try {
              await orgIdClaim(db, session.user.id, orgId);
            } catch (error) {
              // The token endpoint's own refusals (no longer a member, banned); a failure to read is no answer.
              if (error instanceof APIError) throw refusal(CONSENT_NEEDS_ORG);
              throw error;
            }
          }),
        },
      ],
    },
  };
}
