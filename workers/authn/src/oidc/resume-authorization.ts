import { OIDC_ENDPOINT } from "../../../../shared/contracts/oidc.ts";
import { keepWhenSentToSignIn } from "../resume/after-sign-in.ts";

/**
 * GET OIDC_ENDPOINT.authorize: when Better Auth sends a person who is not
 * signed in to the sign-in page (302), the authorization request is kept
 * (resume/after-sign-in.ts) so that after signing in (or up, with a second
 * factor or not) they come back to it from /app instead of stopping there.
 * The authorize endpoint then checks it all again (client, exact redirect
 * URI, PKCE) and asks for consent.
 */
export const rememberAuthorization = keepWhenSentToSignIn("authorize", (c) => {
  const query = new URL(c.req.url).search;
  return query.length > 1 ? `${OIDC_ENDPOINT.authorize}${query}` : undefined;
});
