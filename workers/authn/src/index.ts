import { Hono } from "hono";
import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { httpErrorResponse, internalErrorResponse } from "../../../shared/errors/http.ts";
import { betterAuthApi } from "./api/better-auth-api.ts";
import { capRequestBody } from "./http/capped-body.ts";
import {
  type AuthnApp,
  appPage,
  home,
  showCredentialsForm,
  signOut,
  submitCredentialsForm,
} from "./pages/handlers.tsx";
import { pageSecurityHeaders } from "./security/page-headers.ts";
import { sessionTokenEndpoint } from "./session-token/exchange.ts";

const app = new Hono<AuthnApp>();

// Every body is read once, under the byte cap, before any handler sees it.
app.use("*", capRequestBody);

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

app.notFound(() => httpErrorResponse("not_found", "no such page"));
app.onError((error) => internalErrorResponse("authn worker", error));

export default app satisfies ExportedHandler<AuthnEnv>;
