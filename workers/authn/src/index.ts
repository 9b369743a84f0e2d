import { Hono } from "hono";
import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../shared/contracts/oidc.ts";
import { httpErrorResponse, internalErrorResponse } from "../../../shared/errors/http.ts";
import { answerUnsupportedMethods } from "../../../shared/http/unsupported-methods.ts";
import { healthResponse, requestLog } from "../../../shared/observability/log.ts";
import { betterAuthApi } from "./api/better-auth-api.ts";
import { unlockAccountByApi } from "./api/unlock-account.ts";
import { authReady } from "./auth/create-auth.ts";
import { consoleApp } from "./console/app.tsx";
import { capRequestBody } from "./http/capped-body.ts";
import { refuseIllFormedBody } from "./http/well-formed-body.ts";
import { consentPageHeaders, showConsent, submitConsent } from "./oidc/consent.tsx";
import { unresolvedClientPage } from "./mcp-clients/unresolved-client-page.ts";
import { checkAuthorizeRequest } from "./oidc/authorize-request-checks.ts";
import { closedTokenPath } from "./oidc/grant-entrypoint.ts";
import { logoutPagesInOurLook } from "./oidc/logout-pages.tsx";
import { logoutOutbox } from "./oidc/logout-outbox.ts";
import { rememberAuthorization } from "./oidc/resume-authorization.ts";
import { userinfoRefusals } from "./oidc/userinfo-refusals.ts";
import { refuseRevokedUserinfoToken } from "./oidc/userinfo-revocation.ts";
import {
  type AuthnApp,
  appPage,
  home,
  showCredentialsForm,
  signOut,
  submitCredentialsForm,
} from "./pages/handlers.tsx";
import { forgetResumeOnSignOut, forgetResumeWhenSessionEnds, resumeAfterSignIn } from "./resume/after-sign-in.ts";
import { pageSecurityHeaders } from "./security/page-headers.ts";
import { scimApp } from "./scim/app.ts";
import { sessionTokenEndpoint } from "./session-token/exchange.ts";
import { devMailbox } from "./pages/dev-mailbox.tsx";
import {
  showForgotPassword,
  showResetPassword,
  submitForgotPassword,
  submitResetPassword,
} from "./pages/password-reset.tsx";
import { showUnlockSignIn, submitUnlockSignIn } from "./pages/unlock-sign-in.tsx";
import { AUTH_ERROR_PAGE, showAuthError } from "./pages/auth-error.tsx";
import { pinLogoutHint } from "./oidc/logout-hint.ts";
import { supportRedirectErrorMode } from "./http/redirect-error-fetch.ts";
import { showVerifyEmail, submitVerifyEmail } from "./pages/verify-email.tsx";
import { apiOriginPolicy } from "./security/api-origin.ts";
import { ACCOUNT_PATH } from "./pages/account-paths.ts";
import * as account from "./pages/account-handlers.tsx";
import { showTwoFactor, submitTwoFactor } from "./pages/two-factor-handlers.tsx";

// Libraries that ask fetch for redirect "error" (Better Auth's back-channel logout) get its standard meaning.
supportRedirectErrorMode();

const app = new Hono<AuthnApp>();

// Every body is read once, under the byte cap, before any handler sees it.
app.use("*", capRequestBody);
// Better Auth's set-up settles in the request that starts it (auth/create-auth.ts).
app.use("*", authReady);
// Each request's back-channel Logout Tokens go out in one send once its work is done (oidc/logout-outbox.ts).
app.use("*", logoutOutbox);
// One JSON line per refused, failed or slow request, with the gateway's request id; liveness on the binding.
app.use("*", requestLog("authn"));
// Form and JSON bodies are UTF-8 with well-formed strings, or refused before anyone stores them.
app.use("*", refuseIllFormedBody);
app.get(ENDPOINT.health, () => healthResponse("authn"));

// An authorization request asking for a response_mode other than query, or whose code_challenge breaks
// RFC 7636 §4.2, is refused before Better Auth, which let both through, as invalid_request at the client's
// registered redirect URI (oidc/authorize-request-checks.ts).
app.use(OIDC_ENDPOINT.authorize, checkAuthorizeRequest);
// A client_id whose metadata document was refused is told on the error page, not in Better Auth's bare
// JSON 400, and never redirected to (mcp-clients/unresolved-client-page.ts).
app.use(OIDC_ENDPOINT.authorize, unresolvedClientPage);
// A signed-out person's authorization request (oidc/resume-authorization.ts) or vault connect link
// (console/vault-confirm.tsx) resumes after they sign in and pass their second factor; a sign-out, an
// RP-initiated logout or a deleted account that ends the session here drops it.
app.get(OIDC_ENDPOINT.authorize, rememberAuthorization);
app.get(ENDPOINT.app, resumeAfterSignIn);
app.post(ENDPOINT.signOut, forgetResumeOnSignOut);
app.post(`${ENDPOINT.authApi}/sign-out`, forgetResumeOnSignOut);
app.on(["GET", "POST"], OIDC_ENDPOINT.endSession, forgetResumeWhenSessionEnds);
app.post(OIDC_ENDPOINT.endSessionConfirm, forgetResumeWhenSessionEnds);
app.post(`${ENDPOINT.authApi}/delete-user`, forgetResumeWhenSessionEnds);
app.get(`${ENDPOINT.authApi}/delete-user/callback`, forgetResumeWhenSessionEnds);
// The provider's grants and revocations arrive over RPC from the token Worker (OidcGrants), never from the internet.
app.post(OIDC_ENDPOINT.token, closedTokenPath);
app.post(OIDC_ENDPOINT.revocation, closedTokenPath);
// And its introspection answers from its own tables only, blind to session, subject and org revocations (RFC 7662 §2.2).
app.post(OIDC_ENDPOINT.introspection, closedTokenPath);
// Better Auth's error page, ours instead: it shows no text a link's author wrote (pages/auth-error.tsx).
app.get(AUTH_ERROR_PAGE, pageSecurityHeaders, showAuthError);
// Userinfo refuses a token its org's Durable Object revoked before Better Auth reads it (oidc/userinfo-revocation.ts).
app.use(OIDC_ENDPOINT.userinfo, refuseRevokedUserinfoToken);
// RP-initiated logout's confirmation, signed-out and error pages in the pages' look (oidc/logout-pages.tsx);
// the confirmation's form-action also allows the registered post-logout redirect's origin, as consent's does.
for (const path of [OIDC_ENDPOINT.endSession, OIDC_ENDPOINT.endSessionConfirm]) {
  app.use(path, consentPageHeaders, logoutPagesInOurLook);
}
// Every id_token_hint is verified as an ID token of ours (ES256, typ JWT, iss, aud) before Better Auth trusts it (oidc/logout-hint.ts).
app.use(OIDC_ENDPOINT.endSession, pinLogoutHint);
app.use(`${ENDPOINT.authApi}/*`, apiOriginPolicy);
// Better Auth's own userinfo refusals carry our RFC 6750 challenge; its JWKS failure is a 503 (oidc/userinfo-refusals.ts).
app.use(OIDC_ENDPOINT.userinfo, userinfoRefusals);
// The account unlock link for API-only clients, as the /unlock-sign-in page redeems it (api/unlock-account.ts).
app.post(ENDPOINT.unlockAccount, unlockAccountByApi);
app.on(["GET", "POST"], `${ENDPOINT.authApi}/*`, betterAuthApi);

const PAGES = [ENDPOINT.home, ENDPOINT.signIn, ENDPOINT.signUp, ENDPOINT.signOut, ENDPOINT.app];
for (const path of PAGES) app.use(path, pageSecurityHeaders);
app.get(ENDPOINT.home, home);
app.get(ENDPOINT.signIn, showCredentialsForm("sign-in"));
app.get(ENDPOINT.signUp, showCredentialsForm("sign-up"));
app.post(ENDPOINT.signIn, submitCredentialsForm("sign-in"));
app.post(ENDPOINT.signUp, submitCredentialsForm("sign-up"));
app.post(ENDPOINT.signOut, signOut);
app.get(ENDPOINT.app, appPage);
app.post(ENDPOINT.sessionToken, sessionTokenEndpoint);
// Email flows (verification, reset, the sign-in unlock) and the local dev mailbox.
const EMAIL_FLOW_PAGES = [
  ENDPOINT.verifyEmail,
  ENDPOINT.forgotPassword,
  ENDPOINT.resetPassword,
  ENDPOINT.unlockSignIn,
  ENDPOINT.devMailbox,
];
for (const path of EMAIL_FLOW_PAGES) app.use(path, pageSecurityHeaders);
app.get(ENDPOINT.verifyEmail, showVerifyEmail);
app.post(ENDPOINT.verifyEmail, submitVerifyEmail);
app.get(ENDPOINT.forgotPassword, showForgotPassword);
app.post(ENDPOINT.forgotPassword, submitForgotPassword);
app.get(ENDPOINT.resetPassword, showResetPassword);
app.post(ENDPOINT.resetPassword, submitResetPassword);
app.get(ENDPOINT.unlockSignIn, showUnlockSignIn);
app.post(ENDPOINT.unlockSignIn, submitUnlockSignIn);
app.get(ENDPOINT.devMailbox, devMailbox);
// The operator console (src/console): its own pages, session check and security headers.
app.route(ENDPOINT.console, consoleApp());
// The second factor and the person's own account (sessions, passkeys, 2FA, API keys).
// (Hono's `/account/*` also matches `/account`: once, so the page's nonce is the header's.)
for (const path of [ENDPOINT.twoFactor, `${ENDPOINT.account}/*`]) app.use(path, pageSecurityHeaders);
app.get(ENDPOINT.twoFactor, showTwoFactor);
app.post(ENDPOINT.twoFactor, submitTwoFactor);
app.get(ENDPOINT.account, account.showAccount);
app.get(ACCOUNT_PATH.webauthnScript, account.webauthnScript);
app.post(ACCOUNT_PATH.revokeSession, account.revokeSession);
app.post(ACCOUNT_PATH.renamePasskey, account.renamePasskey);
app.post(ACCOUNT_PATH.deletePasskey, account.deletePasskey);
app.post(ACCOUNT_PATH.enableTwoFactor, account.enableTwoFactor);
app.post(ACCOUNT_PATH.confirmTwoFactor, account.confirmTwoFactor);
app.post(ACCOUNT_PATH.disableTwoFactor, account.disableTwoFactor);
app.post(ACCOUNT_PATH.createKey, account.createApiKey);
app.post(ACCOUNT_PATH.revokeKey, account.revokeApiKey);
app.post(ACCOUNT_PATH.switchOrganization, account.switchOrganization);
app.post(ACCOUNT_PATH.memberRole, account.changeMemberRole);
app.post(ACCOUNT_PATH.removeMember, account.removeMember);

// SCIM 2.0 provisioning for each org's directory (src/scim): its own bearer tokens and RFC 7644 errors.
app.route(ENDPOINT.scim, scimApp());

app.use(ENDPOINT.consent, consentPageHeaders);
app.get(ENDPOINT.consent, showConsent);
app.post(ENDPOINT.consent, submitConsent);

// Last: a path above asked with a method it does not take is 405 with Allow, not 404.
answerUnsupportedMethods(app);
app.notFound(() => httpErrorResponse("not_found", "no such page"));
app.onError((error) => internalErrorResponse("authn worker", error));

export { OidcGrants } from "./oidc/grant-entrypoint.ts";
export default app satisfies ExportedHandler<AuthnEnv>;
