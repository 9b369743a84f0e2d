import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { type Auth, getAuth } from "../auth/create-auth.ts";
import { secondFactorSatisfied } from "./second-factor.ts";

export type PageSession = NonNullable<Awaited<ReturnType<Auth["api"]["getSession"]>>>;

/**
 * The session a page acts for, read from D1 and never from the cookie cache
 * (GHSA-xg6x-h9c9-2m83); or where to send the browser instead: to sign in
 * when there is no live session, to the second-factor challenge when the
 * person has 2FA on and this session has not passed it.
 */
export async function pageSession(
  env: AuthnEnv,
  headers: Headers,
): Promise<{ session: PageSession } | { redirect: string }> {
  const auth = getAuth(env);
  const session = await auth.api.getSession({ headers, query: { disableCookieCache: true } });
  if (!session) return { redirect: ENDPOINT.signIn };
  if (!(await secondFactorSatisfied((await auth.$context).internalAdapter, session))) {
    return { redirect: ENDPOINT.twoFactor };
  }
  return { session };
}
