import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { authnConfig } from "../config.ts";
import { type AccountBudget, checkCredentialAttempt, retryAfterHeader } from "../limits/credential-limits.ts";
import { isSameOriginPost } from "../security/same-origin.ts";
import type { AuthnApp } from "./handlers.tsx";
import { Layout } from "./layout.tsx";

/** What the email-flow pages (verify, forgot, reset, unlock) share. */
export type FlowContext = Context<AuthnApp>;

/** A form post from another origin (CSRF), refused as the other pages refuse it. */
export function crossOriginPost(c: FlowContext): Response | undefined {
  if (isSameOriginPost(c.req.raw, authnConfig(c.env).issuer)) return undefined;
  return httpErrorResponse("cross_origin_post", "form posts must come from this origin");
}

export async function formFields(c: FlowContext): Promise<(name: string) => string> {
  const form = await c.req.raw.formData().catch(() => new FormData());
  return (name) => {
    const value = form.get(name);
    return typeof value === "string" ? value : "";
  };
}

/**
 * The credential limits (limits/credential-limits.ts) for a page post that
 * sends mail or spends a token: the same budget as the API's. Returns the
 * Retry-After headers when refused.
 */
export async function overLimit(
  c: FlowContext,
  email: string | undefined,
  budget: AccountBudget = "account",
): Promise<Record<string, string> | undefined> {
  const verdict = await checkCredentialAttempt(
    c.env,
    authnConfig(c.env),
    c.req.raw.headers,
    email || undefined,
    budget,
  );
  return verdict.limited ? retryAfterHeader(verdict) : undefined;
}

export function FlowPage(props: {
  title: string;
  nonce: string;
  error?: string | undefined;
  notice?: string | undefined;
  children?: Child;
}) {
  return (
    <Layout title={props.title} nonce={props.nonce}>
      <h1>{props.title}</h1>
      {props.error ? (
        <p class="error" role="alert" data-testid="form-error">
          {props.error}
        </p>
      ) : null}
      {props.notice ? (
        <p role="status" data-testid="notice">
          {props.notice}
        </p>
      ) : null}
      {props.children}
    </Layout>
  );
}
