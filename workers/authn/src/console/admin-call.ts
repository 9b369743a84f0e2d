import type { ConsoleAdminBinding } from "../../../../shared/contracts/console-admin.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { authnConfig } from "../config.ts";
import type { ConsoleContext } from "./types.ts";

/** An RFC 9457 problem as the admin API answers it (shared/errors/problem.ts). */
export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
}

export type AdminAnswer<T> = { ok: true; status: number; body: T } | { ok: false; problem: Problem };

/**
 * The token Worker's ConsoleAdmin entrypoint. `wrangler types` sees a plain
 * Fetcher; the contract gives the binding its shape (as config.ts does for
 * TOKEN_SERVICE).
 */
function consoleAdmin(env: Pick<AuthnEnv, "CONSOLE_ADMIN">): ConsoleAdminBinding {
  return env.CONSOLE_ADMIN as unknown as ConsoleAdminBinding;
}

/** Calls the admin API as the console's person (shared/contracts/console-admin.ts). */
export async function adminFetch(
  c: Pick<ConsoleContext, "env">,
  sessionToken: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const request = new Request(`${authnConfig(c.env).issuer}${ENDPOINT.admin}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return consoleAdmin(c.env).fetchAs(sessionToken, request);
}

/** A JSON call of the admin API: its body, or its problem. */
export async function adminCall<T>(
  c: ConsoleContext,
  method: string,
  path: string,
  body?: unknown,
): Promise<AdminAnswer<T>> {
  const answer = await adminAnswer<T>(c, method, path, body);
  if (!answer.ok && c.var.refusal === undefined && (method !== "GET" || answer.problem.status < 500)) {
    // The page answers under the admin API's refusal (app.tsx): a form's action first (it is called
    // before the page it shows again reads), else a read the API refused as the request's own fault,
    // so another org's page is its 403 and an unknown org's its 404, as a script reading the status
    // sees it (RFC 9110 §15.5.4, §15.5.5). A read that failed on our side (5xx) leaves that panel's
    // notice on a 200: the rest of the page still shows what it could.
    c.set("refusal", answer.problem.status);
  }
  return answer;
}

async function adminAnswer<T>(
  c: ConsoleContext,
  method: string,
  path: string,
  body?: unknown,
): Promise<AdminAnswer<T>> {
  let response: Response;
  try {
    response = await adminFetch(c, c.var.caller.sessionToken, method, path, body);
  } catch (error) {
    console.error("console: admin API unreachable", error);
    return {
      ok: false,
      problem: {
        status: 503,
        code: "temporarily_unavailable",
        title: "Temporarily unavailable",
        detail: "the admin API cannot be reached; retry",
      },
    };
  }
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.ok) return { ok: true, status: response.status, body: json as T };
  const text = (name: string, fallback: string) => (typeof json[name] === "string" ? (json[name] as string) : fallback);
  return {
    ok: false,
    problem: {
      status: response.status,
      code: text("code", "server_error"),
      title: text("title", "Error"),
      detail: text("detail", response.statusText),
    },
  };
}

/** org ids are Better Auth's; still, never put one into a path unescaped. */
export const orgPath = (org: string) => `/orgs/${encodeURIComponent(org)}`;

/**
 * The rows one console page shows of a paged admin list: one render reads
 * one page of the API (`?limit=&cursor=` → `next_cursor`, docs/endpoints.md
 * "Paged lists"), however long the list, and links the next.
 */
export const CONSOLE_PAGE_ROWS = 100;

/** One page of a paged admin list, from `cursor` (the console page's own query parameter, passed on as is). */
export function adminListPage<K extends string, T>(
  c: ConsoleContext,
  path: string,
  cursor: string | undefined,
): Promise<AdminAnswer<Record<K, T[]> & { next_cursor: string | null }>> {
  const query = new URLSearchParams({
    limit: String(CONSOLE_PAGE_ROWS),
    ...(cursor === undefined ? {} : { cursor }),
  });
  return adminCall<Record<K, T[]> & { next_cursor: string | null }>(c, "GET", `${path}?${query}`);
}
