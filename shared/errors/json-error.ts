/**
 * The one JSON error writer under every protocol helper (oauth.ts,
 * bearer.ts, http.ts): `{ error, error_description, ...extra }`, never
 * cached. Every error a client of Mono-Auth sees has this shape, so one
 * parser reads them all; nothing internal (a stack, a secret) goes in.
 */
export interface JsonErrorBody {
  error: string;
  error_description: string;
  [extra: string]: string | number | boolean | null;
}

export function jsonErrorResponse(status: number, body: JsonErrorBody, headers?: HeadersInit): Response {
  const out = new Headers(headers);
  out.set("Content-Type", "application/json");
  out.set("Cache-Control", "no-store");
  return new Response(JSON.stringify(body), { status, headers: out });
}
