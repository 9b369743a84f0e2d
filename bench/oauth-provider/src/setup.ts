import type { BenchAuth } from "./index.ts";
import { BENCH_SCOPE, SETUP_EMAIL } from "./options.ts";

export interface BenchClient {
  client_id: string;
  client_secret: string;
  scope: string;
  resource: string;
}

/**
 * Registers a confidential client the way the plugin's docs do it for
 * machine clients: a signed-in user whom `clientPrivileges` trusts calls the
 * server-only `adminCreateOAuthClient` with the client_credentials grant,
 * `client_secret_basic` and a client_credentials scope; the plugin links it
 * to the configured resource (`clientRegistrationDefaultResources`).
 */
export async function registerBenchClient(
  auth: BenchAuth,
  resource: string,
  setupSecret: string,
): Promise<BenchClient> {
  const cookie = (await setupSession(auth, setupSecret))
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const client = await auth.api.adminCreateOAuthClient({
    headers: new Headers({ cookie }),
    body: {
      client_name: "bench machine client",
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["client_credentials"],
      client_credentials_scopes: [BENCH_SCOPE],
    },
  });
  if (!client.client_secret) throw new Error("the plugin returned no client secret");
  return { client_id: client.client_id, client_secret: client.client_secret, scope: BENCH_SCOPE, resource };
}

/** The setup user's session (signed up on the first call, signed in after); its password is the setup secret. */
async function setupSession(auth: BenchAuth, password: string): Promise<Headers> {
  const body = { email: SETUP_EMAIL, password };
  try {
    return (await auth.api.signUpEmail({ body: { ...body, name: "bench admin" }, returnHeaders: true })).headers;
  } catch {
    return (await auth.api.signInEmail({ body, returnHeaders: true })).headers;
  }
}
