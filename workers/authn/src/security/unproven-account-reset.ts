/**
 * What a password reset takes away, beyond the password Better Auth
 * replaces and the sessions it ends (`revokeSessionsOnPasswordReset`).
 *
 * Every reset: the person's refresh and opaque access tokens at our OpenID
 * Provider (oauth-provider's tables) stop working. A reset is what a person
 * does after a compromise, and whoever stole the password may have signed a
 * client in with it; ending sessions alone left that client refreshing for
 * the refresh token's whole lifetime (RFC 6749 §10.4: the authorization
 * server may revoke refresh tokens when it sees a compromise; Google
 * revokes its OAuth tokens on a password change the same way). The grant
 * (consent) stays, so the person's own clients sign in again without a
 * second consent.
 *
 * An account whose address was never proven hands the account to the
 * address's owner, and only to them. Such an account may have been set up
 * by someone else before its owner ever saw it (pre-account hijacking,
 * Sudhodanan & Paverd 2022): a social or SSO sign-in from an IdP that does
 * not verify the address (the "non-verifying IdP" attack), or any path that
 * starts a session before the address is confirmed. Its creator could then
 * add a passkey, TOTP, an API key or an OAuth grant (the "trojan
 * identifier" and "unexpired session" attacks). The reset link reaching the
 * address is the first proof of who owns it, so everything set up before it
 * goes too: passkeys, the second factor, every linked outside identity,
 * the person's own API keys and every OAuth consent (a client the creator
 * allowed would otherwise get the owner's code without asking them). The
 * owner keeps only the password they just chose. A verified account's reset keeps those: its second factor is what
 * stands between a stolen mailbox and the account.
 *
 * The clean-up runs after the password is replaced (Better Auth's
 * `onPasswordReset`) and ends the sessions once more itself, catching a
 * sign-in (by a passkey, or a token refresh's session) that raced the
 * reset's own session purge. If it fails, the reset answers 500; an
 * unproven address stays unproven, so the owner's next reset clears it
 * again.
 */
import { tryGetCurrentAuthEndpointContext } from "@better-auth/core/context";
import type { BetterAuthOptions } from "better-auth";
import { and, eq, ne } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { account, apikey, oidcConsent, passkey, twoFactor, user } from "../../../../shared/db/schema.ts";
import { oauthTokenRevocations, revokeOAuthTokens } from "../../../../shared/revocation/oauth-grant-tokens.ts";

type OnPasswordReset = NonNullable<NonNullable<BetterAuthOptions["emailAndPassword"]>["onPasswordReset"]>;

/** Better Auth's own provider id for the email-and-password account. */
const CREDENTIAL_PROVIDER = "credential";
/** auth/plugins/api-key.ts: the configuration of keys a person owns. */
const PERSONAL_API_KEYS = "user";

/**
 * Ends the person's OAuth refresh and opaque access tokens, for the other
 * paths that answer a compromise as a reset does (a password change that
 * signs out other devices: security/change-password-oauth.ts).
 */
export { revokeOAuthTokens };

export function revokeOnPasswordReset(db: D1Database): OnPasswordReset {
  return async ({ user: reset }) => {
    const endpoint = tryGetCurrentAuthEndpointContext();
    if (!endpoint) throw new Error("a password reset ran outside Better Auth's endpoint context");
    const orm = drizzle(db);
    const now = new Date();
    const oauthTokens = oauthTokenRevocations(orm, reset.id, now);
    if (reset.emailVerified) {
      await orm.batch(oauthTokens);
    } else {
      // One batch, one transaction: the creator's factors go together or not at all.
      await orm.batch([
        ...oauthTokens,
        orm.delete(passkey).where(eq(passkey.userId, reset.id)),
        orm.delete(twoFactor).where(eq(twoFactor.userId, reset.id)),
        orm.update(user).set({ twoFactorEnabled: false, updatedAt: now }).where(eq(user.id, reset.id)),
        orm.delete(account).where(and(eq(account.userId, reset.id), ne(account.providerId, CREDENTIAL_PROVIDER))),
        orm.delete(apikey).where(and(eq(apikey.referenceId, reset.id), eq(apikey.configId, PERSONAL_API_KEYS))),
        // The creator's consents too: a client they allowed (one of their own,
        // registered dynamically) would otherwise skip the consent page for
        // the owner and get a code silently, the creator's tokens reissued
        // from the owner's first session. The grants stay only on a
        // confirmed account, whose consents are its person's own.
        orm.delete(oidcConsent).where(eq(oidcConsent.userId, reset.id)),
      ]);
    }
    await endpoint.context.internalAdapter.deleteUserSessions(reset.id);
  };
}
