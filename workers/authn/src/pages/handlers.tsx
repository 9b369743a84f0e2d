import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { organization } from "../../../../shared/db/schema.ts";
import { getAuth } from "../auth/create-auth.ts";
import { type FormOutcome, signInWithForm, signOutWithForm, signUpWithForm } from "../forms/credentials.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { isSameOriginPost } from "../security/same-origin.ts";
import { AppPage } from "./app-page.tsx";
import { CredentialsForm } from "./credentials-form.tsx";

export type AuthnApp = { Bindings: AuthnEnv; Variables: { nonce: string } };
type PageContext = Context<AuthnApp>;

function crossOriginRefused(): Response {
  return httpErrorResponse("cross_origin_post", "form posts must come from this origin");
}

export async function home(c: PageContext) {
  const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers });
  return c.redirect(session ? "/app" : "/sign-in", 303);
}

export function showCredentialsForm(mode: "sign-in" | "sign-up") {
  return (c: PageContext) => c.html(<CredentialsForm mode={mode} nonce={c.var.nonce} />);
}

/** POST /sign-in and /sign-up: a redirect to /app, or the form again with a message. */
export function submitCredentialsForm(mode: "sign-in" | "sign-up") {
  return async (c: PageContext) => {
    if (!isSameOriginPost(c.req.raw, c.env.ISSUER)) return crossOriginRefused();
    const form = await c.req.raw.formData().catch(() => new FormData());
    const auth = getAuth(c.env);
    const outcome: FormOutcome =
      mode === "sign-in" ? await signInWithForm(auth, c.req.raw, form) : await signUpWithForm(auth, c.req.raw, form);
    if (!outcome.ok) {
      const text = (name: string) => {
        const value = form.get(name);
        return typeof value === "string" ? value : "";
      };
      return c.html(
        <CredentialsForm
          mode={mode}
          nonce={c.var.nonce}
          error={outcome.message}
          email={text("email")}
          name={text("name")}
        />,
        outcome.status,
      );
    }
    for (const cookie of outcome.setCookies) c.header("Set-Cookie", cookie, { append: true });
    return c.redirect("/app", 303);
  };
}

export async function signOut(c: PageContext) {
  if (!isSameOriginPost(c.req.raw, c.env.ISSUER)) return crossOriginRefused();
  for (const cookie of await signOutWithForm(getAuth(c.env), c.req.raw))
    c.header("Set-Cookie", cookie, { append: true });
  return c.redirect("/sign-in", 303);
}

export async function appPage(c: PageContext) {
  const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers });
  if (!session) return c.redirect("/sign-in", 303);
  const orgId = session.session.activeOrganizationId;
  const org = orgId
    ? await drizzle(c.env.DB)
        .select({ id: organization.id, name: organization.name })
        .from(organization)
        .where(eq(organization.id, orgId))
        .get()
    : undefined;
  return c.html(
    <AppPage
      nonce={c.var.nonce}
      user={{ name: session.user.name, email: session.user.email }}
      org={org ?? null}
      audience={c.env.API_AUDIENCE}
    />,
  );
}
