import { isForbiddenCimdClientMetadataField } from "@better-auth/oauth-provider/internal";
import { parseClientIdUrl } from "./client-id-url.ts";
import { CIMD_ERROR, CimdError } from "./errors.ts";

/** A metadata document is a few hundred bytes; a cap keeps a hostile host from filling memory. */
export const CIMD_MAX_BYTES = 5 * 1024;
/** A slow host must not hold an authorization request (or the isolate's subrequests) open. */
export const CIMD_TIMEOUT_MS = 3_000;
/** §4.2: the host's Cache-Control max-age is honoured up to this bound, so a client's edits reach us within it. */
export const CIMD_MAX_CACHE_SECONDS = 3_600;
/** Without a max-age the document is still reused briefly: one authorization hits the endpoint several times. */
export const CIMD_DEFAULT_CACHE_SECONDS = 300;

/**
 * Client metadata fields a document may never set: a shared secret (§4.1),
 * and whatever the server alone decides about a client — Better Auth's
 * list (`skip_consent`, `enable_end_session`, `require_pkce`, `disabled`,
 * `resources`, `reference_id`, `user_id`, their record spellings, …), which
 * it leaves to the caller to enforce on a document's first registration —
 * plus `metadata`, which ours reads (an org a client belongs to).
 */
const FORBIDDEN_FIELDS = ["client_secret", "client_secret_expires_at", "registration_access_token", "metadata"];

function isForbiddenField(field: string): boolean {
  return FORBIDDEN_FIELDS.includes(field) || isForbiddenCimdClientMetadataField(field);
}
/** §4.1: a document client has no secret, so only these methods make sense. */
const AUTH_METHODS = new Set(["none", "private_key_jwt"]);
const MAX_REDIRECT_URIS = 20;

/** What a validated document contributes: the JSON as published, and its checked redirect URIs. */
export interface ClientMetadataDocument {
  clientId: string;
  metadata: Record<string, unknown> & { client_id: string; redirect_uris: string[] };
  /** Epoch ms until which this copy may be reused. */
  expiresAt: number;
}

/** How the document is fetched: global `fetch` when deployed; a test routes the https host to a Worker. */
export type MetadataTransport = (request: Request) => Promise<Response>;

export interface ResolveOptions {
  transport?: MetadataTransport;
  now?: () => number;
  /** Skips the isolate cache (tests that fetch the same URL twice on purpose). */
  cache?: DocumentCache;
}

/**
 * The isolate's copies, by client_id. Per isolate on purpose: a cold isolate
 * fetches again, which is at most one extra request per isolate per bound;
 * KV would add a second place a stale document lives.
 */
export class DocumentCache {
  readonly #entries = new Map<string, ClientMetadataDocument>();
  constructor(readonly maxEntries = 256) {}
  get(clientId: string, now: number): ClientMetadataDocument | undefined {
    const entry = this.#entries.get(clientId);
    if (entry && entry.expiresAt > now) return entry;
    if (entry) this.#entries.delete(clientId);
    return undefined;
  }
  set(document: ClientMetadataDocument): void {
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(document.clientId, document);
  }
}

const isolateCache = new DocumentCache();

/**
 * Resolves an https client_id to its Client ID Metadata Document
 * (draft-ietf-oauth-client-id-metadata-document, the MCP authorization
 * specification's preferred registration), with the fetch bounded in every
 * way a hostile client_id could abuse it: https only, no special-use address,
 * no redirect followed, CIMD_MAX_BYTES, CIMD_TIMEOUT_MS, and the document's
 * `client_id` equal to the URL. Throws CimdError.
 */
export async function resolveClientMetadataDocument(
  clientId: string,
  options: ResolveOptions = {},
): Promise<ClientMetadataDocument> {
  const now = options.now ?? Date.now;
  const cache = options.cache ?? isolateCache;
  const url = parseClientIdUrl(clientId);
  const cached = cache.get(clientId, now());
  if (cached) return cached;

  const transport = options.transport ?? ((request: Request) => fetch(request));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CIMD_TIMEOUT_MS);
  try {
    const response = await Promise.race([
      transport(
        new Request(url, {
          method: "GET",
          headers: { Accept: "application/json" },
          // §6.5: a redirect could point at an internal address; none is followed.
          redirect: "manual",
          signal: controller.signal,
        }),
      ),
      aborted(controller.signal),
    ]).catch((error: unknown) => {
      if (error instanceof CimdError) throw error;
      throw new CimdError(CIMD_ERROR.unavailable, "the client_id's host could not be reached");
    });
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new CimdError(CIMD_ERROR.redirect, "the client_id's host answered with a redirect");
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new CimdError(CIMD_ERROR.unavailable, `the client_id's host answered ${response.status}`);
    }
    const declared = Number(response.headers.get("Content-Length") ?? "0");
    if (declared > CIMD_MAX_BYTES) {
      await response.body?.cancel();
      throw new CimdError(CIMD_ERROR.tooLarge, `the document is larger than ${CIMD_MAX_BYTES} bytes`);
    }
    const text = await readCapped(response, controller.signal);
    const document = validateDocument(clientId, text, now() + cacheSeconds(response) * 1000);
    cache.set(document);
    return document;
  } finally {
    clearTimeout(timer);
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () =>
      reject(new CimdError(CIMD_ERROR.timeout, `the client_id's host did not answer within ${CIMD_TIMEOUT_MS} ms`));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
}

/** Reads the body up to the cap, whatever Content-Length said (it may be absent or a lie). */
async function readCapped(response: Response, signal: AbortSignal): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted(signal)]);
      if (done) break;
      total += value.byteLength;
      if (total > CIMD_MAX_BYTES) {
        throw new CimdError(CIMD_ERROR.tooLarge, `the document is larger than ${CIMD_MAX_BYTES} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof CimdError) throw error;
    throw new CimdError(CIMD_ERROR.unavailable, "the client_id's host broke off the answer");
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CimdError(CIMD_ERROR.invalidDocument, "the document is not UTF-8");
  }
}

/** RFC 9111 §5.2.2.1 max-age (no-store means not at all), bounded by CIMD_MAX_CACHE_SECONDS. */
function cacheSeconds(response: Response): number {
  const header = (response.headers.get("Cache-Control") ?? "").toLowerCase();
  if (/(^|,)\s*(no-store|no-cache)\b/.test(header)) return 0;
  const maxAge = /(^|,)\s*max-age=(\d+)/.exec(header)?.[2];
  const seconds = maxAge === undefined ? CIMD_DEFAULT_CACHE_SECONDS : Number(maxAge);
  return Math.min(seconds, CIMD_MAX_CACHE_SECONDS);
}

function validateDocument(clientId: string, text: string, expiresAt: number): ClientMetadataDocument {
  const invalid = (why: string): never => {
    throw new CimdError(CIMD_ERROR.invalidDocument, why);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    invalid("the document is not JSON");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    return invalid("the document is not a JSON object");
  const metadata = parsed as Record<string, unknown>;
  // §4.1: string equality, no normalisation.
  if (metadata.client_id !== clientId) {
    throw new CimdError(CIMD_ERROR.clientIdMismatch, "the document's client_id is not the URL it was fetched from");
  }
  for (const field of Object.keys(metadata)) {
    if (isForbiddenField(field)) invalid(`the document must not set ${field}`);
  }
  const method = metadata.token_endpoint_auth_method ?? "none";
  if (typeof method !== "string" || !AUTH_METHODS.has(method)) {
    invalid("token_endpoint_auth_method must be none or private_key_jwt");
  }
  const uris = metadata.redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0 || uris.length > MAX_REDIRECT_URIS) {
    return invalid(`redirect_uris must list 1 to ${MAX_REDIRECT_URIS} URIs`);
  }
  for (const uri of uris) {
    if (typeof uri !== "string") return invalid("redirect_uris must be strings");
    // RFC 6749 §3.1.2: absolute, no fragment; compared exactly at the authorization endpoint.
    let parsedUri: URL;
    try {
      parsedUri = new URL(uri);
    } catch {
      return invalid("redirect_uris must be absolute URIs");
    }
    if (uri.includes("#")) invalid("redirect_uris must not carry a fragment");
    if (parsedUri.protocol === "javascript:" || parsedUri.protocol === "data:") invalid("redirect_uris scheme");
  }
  return {
    clientId,
    metadata: metadata as ClientMetadataDocument["metadata"],
    expiresAt,
  };
}

/** RFC 6749 §3.1.2.3: the request's redirect_uri must be one the document lists, compared as strings. */
export function isRegisteredRedirect(document: ClientMetadataDocument, redirectUri: string): boolean {
  return document.metadata.redirect_uris.includes(redirectUri);
}
