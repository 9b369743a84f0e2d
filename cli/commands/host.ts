import { rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { decodeJwt } from "jose";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { writeHostCredentials } from "../host/credentials.ts";
import { generateHostKey, possessionProof } from "../host/possession-proof.ts";
import { hostToken } from "../host/token.ts";
import { generateDpopKey } from "../lib/dpop.ts";
import { CliError, refusalFrom, ServerRefusal } from "../lib/errors.ts";
import { send } from "../lib/http.ts";
import { type CommonOptions, parseUrl, withCommonOptions } from "../lib/options.ts";
import { keyValueTable, printResult } from "../lib/output.ts";
import { FROM_STDIN, secretArgument } from "../lib/secret-argument.ts";

interface HostBootstrapOptions extends Omit<CommonOptions, "url" | "profile"> {
  invite: string;
  out: string;
  url?: string;
}

/** What the bootstrap endpoint answers on success (docs/endpoints.md, "Host bootstrap"). */
interface BootstrapResponse {
  client_id: string;
  org_id: string;
  issuer: string;
  token_endpoint: string;
  token_endpoint_auth_method: string;
  kid: string;
  scope: string;
  audiences: string[];
  /** RFC 9449 §5.2; absent from an issuer that predates it (then unbound). */
  dpop_bound_access_tokens?: boolean;
}

interface HostTokenOptions extends Omit<CommonOptions, "url" | "profile"> {
  credentials: string;
  scope?: string;
  resource?: string;
  url?: string;
}

/** Where `host bootstrap` writes the credentials and `host token` reads them. */
const DEFAULT_CREDENTIALS = "mono-auth-host.json";

/**
 * `host bootstrap`: what a new host runs with the invite an operator gave
 * it. The private key never leaves this machine: it is written to the
 * credentials file (mode 0600) before the invite is redeemed — so a
 * redeemed invite never ends with a lost key — and never printed.
 */
export function registerHostCommands(program: Command): void {
  const host = program.command("host").description("host machines");
  withCommonOptions(
    host
      .command("bootstrap")
      .description(
        "redeem a host invite: generate an ES256 key pair, prove possession, register as a private_key_jwt client, store the credentials",
      )
      .requiredOption("--invite <jwt>", `the invite JWT from \`mono-auth invite create\`${FROM_STDIN}`, secretArgument)
      .option("--out <file>", "where to write the credentials (created, mode 0600)", DEFAULT_CREDENTIALS)
      .addHelpText("after", "\n--url defaults to the issuer the invite names."),
    // The invite names its issuer; --url only overrides it. A host is no operator: no profile.
    { urlDefault: null, profile: false },
  ).action(async (options: HostBootstrapOptions) => {
    const issuer = options.url ?? issuerOf(options.invite);
    const endpoint = await bootstrapEndpoint(issuer);
    const key = await generateHostKey();
    const out = resolve(options.out);
    const credentials = { issuer, client_id: null as string | null, private_jwk: key.privateJwk };
    try {
      // `wx`: never overwrite a host's existing credentials.
      writeFileSync(out, `${JSON.stringify({ ...credentials, status: "pending" }, null, 2)}\n`, {
        mode: 0o600,
        flag: "wx",
      });
    } catch (error) {
      const exists = (error as NodeJS.ErrnoException).code === "EEXIST";
      throw new CliError(
        exists ? `${out} exists; choose another --out or move it away` : `cannot write ${out}: ${String(error)}`,
      );
    }
    let registered: BootstrapResponse;
    try {
      registered = await redeem(endpoint, options.invite, await possessionProof(key, options.invite, endpoint));
    } catch (error) {
      // Only a refusal proves the invite was not spent (the server answered
      // 4xx before creating anything). After a lost connection, a 5xx or an
      // answer cut short, the client may exist and this is its only key.
      if (error instanceof ServerRefusal && error.status >= 400 && error.status < 500) {
        rmSync(out, { force: true });
        throw error;
      }
      const why = error instanceof Error ? error.message : String(error);
      throw new CliError(
        `host bootstrap: the outcome is unknown (${why}); the key stays in ${out} (status "pending"). ` +
          `If the invite was spent, an operator finds the client by its key id ${key.kid}; do not delete the file.`,
      );
    }
    const bound = registered.dpop_bound_access_tokens === true;
    const stored = {
      issuer: registered.issuer,
      token_endpoint: registered.token_endpoint,
      client_id: registered.client_id,
      org_id: registered.org_id,
      token_endpoint_auth_method: registered.token_endpoint_auth_method,
      scope: registered.scope,
      audiences: registered.audiences,
      dpop_bound_access_tokens: bound,
      private_jwk: key.privateJwk,
      // A bound client's first token request needs its DPoP key (cli/host/token.ts says why it is a second key).
      ...(bound ? { dpop_private_jwk: (await generateDpopKey()).privateJwk } : {}),
    };
    // Moved over the pending file at once, so the host's key is never lost in between.
    writeHostCredentials(out, stored);
    const result = {
      client_id: registered.client_id,
      org_id: registered.org_id,
      issuer: registered.issuer,
      token_endpoint: registered.token_endpoint,
      kid: registered.kid,
      scope: registered.scope,
      audiences: registered.audiences,
      dpop_bound_access_tokens: bound,
      credentials_file: out,
    };
    printResult(options.json, result, () =>
      keyValueTable([
        ["client_id", result.client_id],
        ["org_id", result.org_id],
        ["token_endpoint", result.token_endpoint],
        ["kid", result.kid],
        ["scope", result.scope],
        ["audiences", result.audiences.join(" ")],
        ["dpop", bound ? "required (tokens bound to the DPoP key in the credentials file)" : "no"],
        ["credentials", `${out} (private key; mode 0600)`],
      ]),
    );
  });

  withCommonOptions(
    host
      .command("token")
      .description(
        "get an access token as the host's client (private_key_jwt); a DPoP-bound host sends a DPoP proof and gets a DPoP token",
      )
      .option("--credentials <file>", "the credentials file `host bootstrap` wrote", DEFAULT_CREDENTIALS)
      .option("--scope <scopes>", "the scopes to ask for, space-separated (default: every scope the host holds)")
      .option("--resource <audience>", "the audience (RFC 8707 resource) to ask for (default: the issuer's default)")
      .addHelpText(
        "after",
        "\n--url defaults to the issuer in the credentials file. A DPoP token (token_type DPoP) is sent with a proof " +
          "signed by the file's dpop_private_jwk (RFC 9449 §7); without that key it is worth nothing.",
      ),
    { urlDefault: null, profile: false },
  ).action(async (options: HostTokenOptions) => {
    const token = await hostToken(resolve(options.credentials), {
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.resource ? { resource: options.resource } : {}),
      ...(options.url ? { issuer: options.url } : {}),
    });
    printResult(options.json, token, () =>
      keyValueTable([
        ["token_type", token.token_type],
        ["expires_in", token.expires_in === undefined ? "-" : String(token.expires_in)],
        ["scope", token.scope ?? "-"],
        ["dpop_jkt", token.dpop_jkt ?? "-"],
        ["access_token", token.access_token],
      ]),
    );
  });
}

/** The invite's `iss`, read without verifying it: the server verifies; this only says where to go. */
function issuerOf(invite: string): string {
  let iss: unknown;
  try {
    iss = decodeJwt(invite).iss;
  } catch {
    throw new CliError("--invite: not a JWT");
  }
  if (typeof iss !== "string") throw new CliError("--invite: the invite names no issuer; pass --url");
  try {
    return parseUrl(iss);
  } catch {
    throw new CliError("--invite: the invite's issuer is not an http(s) URL; pass --url");
  }
}

/** RFC 8414 metadata's `host_bootstrap_endpoint`. */
async function bootstrapEndpoint(issuer: string): Promise<string> {
  const response = await send(`${issuer}${ENDPOINT.authorizationServerMetadata}`);
  if (!response.ok) throw await refusalFrom(response, "metadata request");
  const metadata = (await response.json()) as { issuer?: unknown; host_bootstrap_endpoint?: unknown };
  // RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
  if (metadata.issuer !== issuer) throw new CliError(`${issuer} serves metadata for another issuer`);
  if (typeof metadata.host_bootstrap_endpoint !== "string") {
    throw new CliError(`${issuer} advertises no host_bootstrap_endpoint`);
  }
  return metadata.host_bootstrap_endpoint;
}

async function redeem(endpoint: string, invite: string, proof: string): Promise<BootstrapResponse> {
  const response = await send(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ invite, proof }),
  });
  if (response.status !== 201) throw await refusalFrom(response, "host bootstrap");
  return (await response.json()) as BootstrapResponse;
}
