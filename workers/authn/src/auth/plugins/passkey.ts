import { PASSKEY_ERROR_CODES, passkey } from "@better-auth/passkey";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { bodyText } from "../../http/body-text.ts";

/** Endpoints that name a passkey by its id, for its owner only. */
const OWNED_PASSKEY_PATHS: ReadonlySet<string> = new Set(["/passkey/update-passkey", "/passkey/delete-passkey"]);

/**
 * WebAuthn credentials bound to this origin: the relying party id is the
 * issuer's host, so a passkey registered here is useless on any other site.
 *
 * A passkey sign-in counts as both factors (auth/plugins/two-factor.ts), so
 * user verification (a PIN or biometric on the authenticator) is required at
 * registration and checked at every sign-in (WebAuthn Level 3 §7.2 step 17
 * with `userVerification: "required"`); Better Auth would otherwise accept
 * mere presence.
 *
 * Renaming or deleting a passkey that is not the caller's answers exactly as
 * one that does not exist, `404 PASSKEY_NOT_FOUND`, so ids of other people's
 * passkeys cannot be confirmed (GHSA-4vcf-q4xf-f48m is the advisory on
 * acting on them at all).
 */
export function passkeyPlugin(issuer: string) {
  const url = new URL(issuer);
  const plugin = passkey({
    rpID: url.hostname,
    rpName: "Mono-Auth",
    origin: url.origin,
    authenticatorSelection: { residentKey: "required", userVerification: "required" },
    authentication: {
      afterVerification: ({ verification }) => {
        if (!verification.authenticationInfo.userVerified) {
          throw APIError.from("UNAUTHORIZED", PASSKEY_ERROR_CODES.AUTHENTICATION_FAILED);
        }
      },
    },
  });

  const onlyOwnPasskeys = createAuthMiddleware(async (ctx) => {
    const current = await getSessionFromCtx(ctx, { disableCookieCache: true });
    // No session: Better Auth's own session middleware answers 401.
    if (!current) return;
    const id = bodyText(ctx.body, "id");
    const owned = await ctx.context.adapter.findOne<{ id: string }>({
      model: "passkey",
      where: [
        { field: "id", value: id },
        { field: "userId", value: current.user.id },
      ],
    });
    if (!owned) throw APIError.from("NOT_FOUND", PASSKEY_ERROR_CODES.PASSKEY_NOT_FOUND);
  });

  return {
    ...plugin,
    hooks: {
      before: [
        {
          matcher: (context: { path?: string }) => OWNED_PASSKEY_PATHS.has(context.path ?? ""),
          handler: onlyOwnPasskeys,
        },
      ],
    },
  };
}
