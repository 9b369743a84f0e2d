import { env, exports } from "cloudflare:workers";

export const ORIGIN = new URL(env.ISSUER).origin;

export function form(
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = { Origin: ORIGIN },
) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields),
      redirect: "manual",
    }),
  );
}

/** The `name=value` pairs a browser would send back. */
export function cookiesFrom(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
}

export function uniqueEmail(): string {
  return `${crypto.randomUUID()}@example.com`;
}

export const PASSWORD = "correct horse battery staple";
