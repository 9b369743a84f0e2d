import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { organization } from "../../../shared/db/schema.ts";
import { getAuth } from "./auth/create-auth.ts";
import { type FormOutcome, signInWithForm, signOutWithForm, signUpWithForm } from "./forms/credentials.ts";
import { AppPage } from "./pages/app-page.tsx";
import { CredentialsForm } from "./pages/credentials-form.tsx";
import { pageSecurityHeaders } from "./security/page-headers.ts";
import { isSameOriginPost } from "./security/same-origin.ts";

type AuthnApp = { Bindings: AuthnEnv; Variables: { nonce: string } };

const app = new Hono<AuthnApp>();

// Better Auth's own API, with its own CSRF (trusted origin) checks.
app.on(["GET", "POST"], "/api/auth/*", (c) => getAuth(c.env).handler(c.req.raw));

app.use("/", pageSecurityHeaders);
app.use("/sign-in", pageSecurityHeaders);
app.use("/sign-up", pageSecurityHeaders);
app.use("/sign-out", pageSecurityHeaders);
app.use("/app", pageSecurityHeaders);

app.get("/", async (c) => {
  const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers });
  return c.redirect(session ? "/app" : "/sign-in", 303);
});

app.get("/sign-in", (c) => c.html(<CredentialsForm mode="sign-in" nonce={c.var.nonce} />));
app.get("/sign-up", (c) => c.html(<CredentialsForm mode="sign-up" nonce={c.var.nonce} />));

for (const mode of ["sign-in", "sign-up"] as const) {
  app.post(`/${mode}`, async (c) => {
    if (!isSameOriginPost(c.req.raw, c.env.ISSUER)) return c.text("cross-origin form post refused", 403);
    const form = await c.req.raw.formData().catch(() => new FormData());
    const auth = getAuth(c.env);
    const outcome: FormOutcome =
      mode === "sign-in" ? await signInWithForm(auth, c.req.raw, form) : await signUpWithForm(auth, c.req.raw, form);
    if (!outcome.ok) {
      const email = typeof form.get("email") === "string" ? (form.get("email") as string) : "";
      const name = typeof form.get("name") === "string" ? (form.get("name") as string) : "";
      return c.html(<CredentialsForm mode={mode} nonce={c.var.nonce} error={outcome.message} email={email} name={name} />, outcome.status);
    }
    for (const cookie of outcome.setCookies) c.header("Set-Cookie", cookie, { append: true });
    return c.redirect("/app", 303);
  });
}

app.post("/sign-out", async (c) => {
  if (!isSameOriginPost(c.req.raw, c.env.ISSUER)) return c.text("cross-origin form post refused", 403);
  for (const cookie of await signOutWithForm(getAuth(c.env), c.req.raw)) c.header("Set-Cookie", cookie, { append: true });
  return c.redirect("/sign-in", 303);
});

app.get("/app", async (c) => {
  const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers });
  if (!session) return c.redirect("/sign-in", 303);
  const orgId = session.session.activeOrganizationId;
  const org = orgId
    ? await drizzle(c.env.DB).select({ id: organization.id, name: organization.name }).from(organization).where(eq(organization.id, orgId)).get()
    : undefined;
  return c.html(
    <AppPage nonce={c.var.nonce} user={{ name: session.user.name, email: session.user.email }} org={org ?? null} audience={c.env.API_AUDIENCE} />,
  );
});

app.notFound((c) => c.json({ error: "not_found", error_description: "no such page" }, 404));
app.onError((error, c) => {
  console.error("authn worker failed", error);
  return c.json({ error: "server_error" }, 500);
});

export default app satisfies ExportedHandler<AuthnEnv>;
