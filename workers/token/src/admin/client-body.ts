import { importJWK, type JWK } from "jose";
import { isMcpResource } from "../../../../shared/contracts/mcp.ts";
import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { GRANT_TYPE, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../../../shared/contracts/tokens.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { outboundUrlProblem } from "../../../../shared/http/outbound-url.ts";
import { MAX_CLIENT_KEYS, verificationKeys } from "../clients/client-keys.ts";
import type { ClientKind, ClientStatus, ConfidentialAuthMethod } from "../clients/types.ts";
import type { TokenConfig } from "../config.ts";
import {
  type Body,
  oneOf,
  onlyFields,
  optionalBoolean,
  optionalInteger,
  optionalList,
  optionalString,
  requiredString,
} from "./validate.ts";

/**
 * The client fields of admin requests (RFC 7591 §2 names where RFC 7591
 * has one: `client_name`, `token_endpoint_auth_method`, `grant_types`,
 * `scope`, `jwks`, `jwks_uri`; RFC 9449 §5.2 `dpop_bound_access_tokens`;
 * ours otherwise). Lists are JSON arrays or space-separated strings.
 */
export const CLIENT_KINDS: readonly ClientKind[] = ["machine", "agent", "service"];
export const AUTH_METHODS: readonly ConfidentialAuthMethod[] = [
  "client_secret_basic",
  "client_secret_post",
  "private_key_jwt",
];
/** Grant types a registered client may be allowed. */
export const CLIENT_GRANT_TYPES: ReadonlySet<string> = new Set([
  GRANT_TYPE.clientCredentials,
  GRANT_TYPE.tokenExchange,
  GRANT_TYPE.jwtBearer,
]);
const SETTABLE_STATUSES: readonly ClientStatus[] = ["active", "pending", "disabled"];

const NAME = { max: 100 };
const USER_ID = { max: 128 };
const MIN_CLIENT_TTL_SECONDS = 30;
const MAX_LIST_ITEMS = 32;

/** The fields both create and update take. */
export interface ClientFields {
  name?: string;
  kind?: ClientKind;
  grantTypes?: string[];
  scopes?: string[];
  audiences?: string[];
  maxTtlSeconds?: number | null;
  requireDpop?: boolean;
  resourceServer?: boolean;
  ownerUserId?: string | null;
  status?: ClientStatus;
}

export interface ClientKeys {
  jwks: string | null;
  jwksUri: string | null;
}

const COMMON_FIELDS = [
  "client_name",
  "client_type",
  "grant_types",
  "scope",
  "audiences",
  "max_ttl_seconds",
  "dpop_bound_access_tokens",
  "resource_server",
  "owner_user_id",
  "status",
] as const;

function nonEmpty(field: string, values: string[] | null | undefined): string[] | undefined {
  if (values === null || (values !== undefined && values.length === 0)) {
    throw new HttpError("invalid_body", `${field}: must name at least one value`);
  }
  return values;
}

function commonFields(body: Body, config: TokenConfig): ClientFields {
  const ownerUserId = body.owner_user_id === null ? null : optionalString(body, "owner_user_id", USER_ID);
  return {
    name: optionalString(body, "client_name", NAME),
    kind: body.client_type === undefined ? undefined : oneOf(body, "client_type", CLIENT_KINDS),
    grantTypes: nonEmpty(
      "grant_types",
      optionalList(body, "grant_types", { allowed: CLIENT_GRANT_TYPES, maxItems: 8, itemMax: 256 }),
    ),
    // `admin` is not among ALL_SCOPES: no org client can ever hold it.
    scopes: nonEmpty(
      "scope",
      optionalList(body, "scope", { allowed: ALL_SCOPES, maxItems: MAX_LIST_ITEMS, itemMax: 128 }),
    ),
    audiences: nonEmpty(
      "audiences",
      optionalList(body, "audiences", {
        // The issuer's audiences, or an MCP server's resource identifier: whether the
        // org has that server active is checked at every mint (clients/guardrails.ts).
        check: (audience) => config.allowedAudiences.has(audience) || isMcpResource(config.issuer, audience),
        maxItems: MAX_LIST_ITEMS,
        itemMax: 1024,
      }),
    ),
    maxTtlSeconds: optionalInteger(body, "max_ttl_seconds", {
      min: MIN_CLIENT_TTL_SECONDS,
      max: MAX_ACCESS_TOKEN_TTL_SECONDS,
    }),
    requireDpop: optionalBoolean(body, "dpop_bound_access_tokens"),
    resourceServer: optionalBoolean(body, "resource_server"),
    ownerUserId,
    status: body.status === undefined ? undefined : oneOf(body, "status", SETTABLE_STATUSES),
  };
}

export interface NewClientFields extends Required<Omit<ClientFields, "status">> {
  status: ClientStatus;
  authMethod: ConfidentialAuthMethod;
  keys: ClientKeys;
}

/** POST .../clients: what a new client is. */
export async function parseNewClient(body: Body, config: TokenConfig): Promise<NewClientFields> {
  onlyFields(body, [...COMMON_FIELDS, "token_endpoint_auth_method", "jwks", "jwks_uri"]);
  requiredString(body, "client_name", NAME);
  const fields = commonFields(body, config);
  if (!fields.scopes) throw new HttpError("invalid_body", "scope: required");
  if (!fields.audiences) throw new HttpError("invalid_body", "audiences: required");
  // RFC 7591 §2: the default method is client_secret_basic.
  const authMethod = oneOf(body, "token_endpoint_auth_method", AUTH_METHODS, "client_secret_basic");
  return {
    name: fields.name as string,
    kind: oneOf(body, "client_type", CLIENT_KINDS),
    grantTypes: fields.grantTypes ?? [GRANT_TYPE.clientCredentials],
    scopes: fields.scopes,
    audiences: fields.audiences,
    maxTtlSeconds: fields.maxTtlSeconds ?? null,
    requireDpop: fields.requireDpop ?? false,
    resourceServer: fields.resourceServer ?? false,
    ownerUserId: fields.ownerUserId ?? null,
    status: fields.status ?? "active",
    authMethod,
    keys: await parseClientKeys(body, authMethod, config.issuer),
  };
}

/** PATCH .../clients/{id}: only the fields sent change; credentials change through rotate-secret. */
export function parseClientChanges(body: Body, config: TokenConfig): ClientFields {
  onlyFields(body, COMMON_FIELDS);
  if (Object.keys(body).length === 0) throw new HttpError("invalid_body", "nothing to change");
  return commonFields(body, config);
}

/**
 * RFC 7591 §2: `jwks` and `jwks_uri` are for private_key_jwt, exactly one
 * of them, and never with a secret method. An inline set must hold at
 * least one public signing key we can use, and no private key material.
 */
export async function parseClientKeys(body: Body, method: ConfidentialAuthMethod, issuer: string): Promise<ClientKeys> {
  const hasJwks = body.jwks !== undefined && body.jwks !== null;
  const hasUri = body.jwks_uri !== undefined && body.jwks_uri !== null;
  if (method !== "private_key_jwt") {
    if (hasJwks || hasUri) throw new HttpError("invalid_body", "jwks: only for private_key_jwt clients");
    return { jwks: null, jwksUri: null };
  }
  if (hasJwks === hasUri) throw new HttpError("invalid_body", "jwks: give exactly one of jwks and jwks_uri");
  if (hasUri) {
    const uri = requiredString(body, "jwks_uri", { max: 2048 });
    const problem = outboundUrlProblem(uri, issuer);
    if (problem !== undefined) throw new HttpError("invalid_body", `jwks_uri: ${problem}`);
    return { jwks: null, jwksUri: uri };
  }
  return { jwks: JSON.stringify(await checkInlineJwks(body.jwks)), jwksUri: null };
}

async function checkInlineJwks(value: unknown): Promise<{ keys: unknown[] }> {
  let usable: number;
  try {
    usable = verificationKeys(value).length;
  } catch (error) {
    throw new HttpError("invalid_body", `jwks: ${error instanceof Error ? error.message : "not a JWKS"}`);
  }
  const keys = (value as { keys: unknown[] }).keys;
  const hasPrivate = keys.some(
    (key) => typeof key === "object" && key !== null && ["d", "p", "q", "k"].some((member) => member in key),
  );
  if (hasPrivate) throw new HttpError("invalid_body", "jwks: holds private or symmetric key material");
  if (usable === 0) {
    throw new HttpError(
      "invalid_body",
      `jwks: no usable public signing key (EC, RSA or OKP; at most ${MAX_CLIENT_KEYS})`,
    );
  }
  if (usable !== keys.length)
    throw new HttpError("invalid_body", "jwks: every key must be a public signing key we accept");
  for (const key of keys as JWK[]) {
    const alg = key.alg ?? DEFAULT_ALG[`${key.kty}:${key.crv ?? ""}`];
    const imported = alg ? await importJWK(key, alg).catch(() => undefined) : undefined;
    if (!imported) {
      throw new HttpError("invalid_body", "jwks: every key must be a valid P-256, Ed25519 or RSA public key");
    }
  }
  return { keys };
}

/** The algorithm a key without `alg` is used with, by key type and curve (CLIENT_ASSERTION_ALGS). */
const DEFAULT_ALG: Record<string, string> = { "EC:P-256": "ES256", "OKP:Ed25519": "EdDSA", "RSA:": "RS256" };
