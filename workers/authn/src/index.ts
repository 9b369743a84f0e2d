import { Hono } from "hono";
import { httpErrorResponse, internalErrorResponse } from "../../../shared/errors/http.ts";
import { getAuth } from "./auth/create-auth.ts";
import {
  type AuthnApp,
  appPage,
  home,
  showCredentialsForm,
  signOut,
  submitCredentialsForm,
} from "./pages/handlers.tsx";
import { pageSecurityHeaders } from "./security/page-headers.ts";

const app = new Hono<AuthnApp>();

// Better Auth's own API, with its own CSRF (trusted origin) checks.
app.on(["GET", "POST"], "/api/auth/*", (c) => getAuth(c.env).handler(c.req.raw));

for (const path of ["/", "/sign-in", "/sign-up", "/sign-out", "/app"]) app.use(path, pageSecurityHeaders);
app.get("/", home);
app.get("/sign-in", showCredentialsForm("sign-in"));
app.get("/sign-up", showCredentialsForm("sign-up"));
app.post("/sign-in", submitCredentialsForm("sign-in"));
app.post("/sign-up", submitCredentialsForm("sign-up"));
app.post("/sign-out", signOut);
app.get("/app", appPage);

app.notFound(() => httpErrorResponse("not_found", "no such page"));
app.onError((error) => internalErrorResponse("authn worker", error));

export default app satisfies ExportedHandler<AuthnEnv>;
