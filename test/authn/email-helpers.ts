import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../workers/authn/src/index.ts";
import { clientAddress, ORIGIN } from "./helpers.ts";

/**
 * The authn Worker under another configuration than wrangler.toml's (e.g.
 * REQUIRE_EMAIL_VERIFICATION on, as in production), called in this runtime
 * with its real bindings. Each env object gets its own config and Better Auth
 * instance (config.ts, auth/create-auth.ts), so make one per configuration.
 */
export function envWith(vars: Record<string, string>): AuthnEnv {
  return { ...env, ...vars } as unknown as AuthnEnv;
}

/** Production's default: no sign-in before the address is confirmed. */
export const VERIFYING = envWith({ REQUIRE_EMAIL_VERIFICATION: "true" });

/** Runs one request and waits for its background work (the mail) to finish. */
export async function call(target: AuthnEnv, request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, target, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function formTo(
  target: AuthnEnv,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return call(
    target,
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Origin: ORIGIN,
        "cf-connecting-ip": clientAddress(),
        ...headers,
      },
      body: new URLSearchParams(fields),
      redirect: "manual",
    }),
  );
}

export function apiTo(target: AuthnEnv, path: string, body: unknown, headers: Record<string, string> = {}) {
  return call(
    target,
    new Request(`${ORIGIN}/api/auth${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: ORIGIN, "cf-connecting-ip": clientAddress(), ...headers },
      body: JSON.stringify(body),
    }),
  );
}

export function getFrom(target: AuthnEnv, path: string, headers: Record<string, string> = {}) {
  return call(target, new Request(`${ORIGIN}${path}`, { headers, redirect: "manual" }));
}

export interface Mail {
  id: string;
  to: string;
  kind: string;
  subject: string;
  text: string;
}

/** The recipient's mail, newest first, read through the dev mailbox's JSON endpoint. */
export async function mailTo(email: string, target: AuthnEnv = env as unknown as AuthnEnv): Promise<Mail[]> {
  const response = await getFrom(target, `/dev/mailbox?format=json&to=${encodeURIComponent(email)}`);
  if (response.status !== 200) throw new Error(`dev mailbox: ${response.status}`);
  return ((await response.json()) as { messages: Mail[] }).messages;
}

/** Every link in a mail; the tests check there is exactly one. */
export function linksIn(mail: Mail): string[] {
  return [...mail.text.matchAll(/https?:\/\/\S+/g)].map(([link]) => link);
}

/** The token of the one link in the newest mail of that kind. */
export async function tokenFromMail(email: string, kind: string, target?: AuthnEnv): Promise<string> {
  const mail = (await mailTo(email, target)).find((m) => m.kind === kind);
  if (!mail) throw new Error(`no ${kind} mail for ${email}`);
  const [link] = linksIn(mail);
  const token = new URL(link ?? "").searchParams.get("token");
  if (!token) throw new Error(`no token in ${kind} mail`);
  return token;
}
