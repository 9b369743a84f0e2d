import type { Command } from "commander";
import {
  SSF_DELIVERY,
  SSF_EVENT,
  SSF_STREAM_STATUSES,
  type SsfStreamConfiguration,
} from "../../shared/contracts/ssf.ts";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";
import { FROM_STDIN, secretArgument } from "../lib/secret-argument.ts";

/** The admin API's status answer (workers/token/src/admin/ssf-streams.ts). */
interface StreamStatus {
  stream_id: string;
  status: string;
  reason?: string;
  waiting?: number;
  max_attempts?: number;
}

interface OrgOptions extends CommonOptions {
  org: string;
}

interface CreateOptions extends OrgOptions {
  aud: string;
  push?: string;
  authorization?: string;
  events?: string;
  description?: string;
}

interface StreamOptions extends OrgOptions {
  id: string;
}

interface StatusOptions extends StreamOptions {
  set?: string;
  reason?: string;
}

/** Short names for the event types a stream can ask for. */
const EVENT_NAMES: Record<string, string> = {
  "session-revoked": SSF_EVENT.sessionRevoked,
  "credential-change": SSF_EVENT.credentialChange,
  "token-revoked": SSF_EVENT.tokenRevoked,
  "tokens-revoked": SSF_EVENT.tokensRevoked,
  "stream-updated": SSF_EVENT.streamUpdated,
  verification: SSF_EVENT.verification,
};

/** `--events session-revoked,credential-change` (or full URIs); absent: every revocation event. */
function eventsRequested(value: string | undefined): string[] {
  if (value === undefined) {
    return [SSF_EVENT.sessionRevoked, SSF_EVENT.credentialChange, SSF_EVENT.tokenRevoked, SSF_EVENT.tokensRevoked];
  }
  return value
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => {
      const uri = EVENT_NAMES[name] ?? (name.includes(":") ? name : undefined);
      if (!uri) throw new CliError(`unknown event ${name} (one of ${Object.keys(EVENT_NAMES).join(", ")}, or a URI)`);
      return uri;
    });
}

function streamPath(org: string, id?: string): string {
  const base = `/orgs/${encodeURIComponent(org)}/ssf/streams`;
  return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
}

function streamTable(stream: SsfStreamConfiguration): string {
  return keyValueTable([
    ["stream_id", stream.stream_id],
    ["aud", Array.isArray(stream.aud) ? stream.aud.join(" ") : stream.aud],
    ["delivery", stream.delivery.method === SSF_DELIVERY.push ? "push" : "poll"],
    ["endpoint_url", stream.delivery.endpoint_url],
    ["events_delivered", stream.events_delivered.join(" ")],
    ["description", stream.description],
  ]);
}

/**
 * `mono-auth ssf stream create|list|show|delete|status --org ORG …`: an
 * org's Shared Signals streams through the admin API. A receiver manages
 * its own streams at the transmitter's endpoints
 * (/.well-known/ssf-configuration) with its org client's token.
 */
export function registerSsfCommands(program: Command): void {
  const stream = program
    .command("ssf")
    .description("the Shared Signals (SSF/CAEP) transmitter")
    .command("stream")
    .description("an org's event streams (push or poll)");

  withCommonOptions(
    stream
      .command("create")
      .description("create a stream; poll unless --push names the receiver's endpoint")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--aud <aud>", "the receiver's identifier: the SETs' aud")
      .option("--push <url>", "push SETs to this endpoint (RFC 8935)")
      .option(
        "--authorization <value>",
        `the Authorization header value to push with (kept sealed)${FROM_STDIN}`,
        secretArgument,
      )
      .option("--events <list>", `comma-separated: ${Object.keys(EVENT_NAMES).join(", ")}`)
      .option("--description <text>", "what the stream is for"),
  ).action(async (options: CreateOptions) => {
    if (options.authorization !== undefined && options.push === undefined) {
      throw new CliError("--authorization goes with --push");
    }
    const delivery =
      options.push === undefined
        ? { method: SSF_DELIVERY.poll }
        : {
            method: SSF_DELIVERY.push,
            endpoint_url: options.push,
            ...(options.authorization ? { authorization_header: options.authorization } : {}),
          };
    const created = await new AdminApi(options).request<SsfStreamConfiguration>("POST", streamPath(options.org), {
      aud: options.aud,
      delivery,
      events_requested: eventsRequested(options.events),
      ...(options.description ? { description: options.description } : {}),
    });
    printResult(options.json, created, () => streamTable(created));
  });

  withCommonOptions(
    stream.command("list").description("the org's streams").requiredOption("--org <org>", "the organization's id"),
  ).action(async (options: OrgOptions) => {
    const listed = await new AdminApi(options).request<SsfStreamConfiguration[]>("GET", streamPath(options.org));
    printResult(options.json, { streams: listed }, () =>
      columnsTable(
        ["stream_id", "delivery", "aud", "endpoint_url"],
        listed.map((s) => [
          s.stream_id,
          s.delivery.method === SSF_DELIVERY.push ? "push" : "poll",
          Array.isArray(s.aud) ? s.aud.join(" ") : s.aud,
          s.delivery.endpoint_url,
        ]),
      ),
    );
  });

  withCommonOptions(
    stream
      .command("show")
      .description("one stream's configuration")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--id <stream_id>", "the stream"),
  ).action(async (options: StreamOptions) => {
    const shown = await new AdminApi(options).request<SsfStreamConfiguration>(
      "GET",
      streamPath(options.org, options.id),
    );
    printResult(options.json, shown, () => streamTable(shown));
  });

  withCommonOptions(
    stream
      .command("delete")
      .description("delete a stream (what waits for it is dropped)")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--id <stream_id>", "the stream"),
  ).action(async (options: StreamOptions) => {
    const deleted = await new AdminApi(options).request<{ stream_id: string; deleted: boolean }>(
      "DELETE",
      streamPath(options.org, options.id),
    );
    printResult(options.json, deleted, () => keyValueTable([["deleted", deleted.stream_id]]));
  });

  withCommonOptions(
    stream
      .command("status")
      .description("a stream's status and what waits for it; --set enabled|paused|disabled changes it")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--id <stream_id>", "the stream")
      .option("--set <status>", SSF_STREAM_STATUSES.join("|"))
      .option("--reason <text>", "why (sent to the receiver)"),
  ).action(async (options: StatusOptions) => {
    const api = new AdminApi(options);
    const path = `${streamPath(options.org, options.id)}/status`;
    if (options.set !== undefined && !(SSF_STREAM_STATUSES as readonly string[]).includes(options.set)) {
      throw new CliError(`--set: one of ${SSF_STREAM_STATUSES.join(", ")}`);
    }
    if (options.reason !== undefined && options.set === undefined) throw new CliError("--reason goes with --set");
    const status =
      options.set === undefined
        ? await api.request<StreamStatus>("GET", path)
        : await api.request<StreamStatus>("POST", path, {
            status: options.set,
            ...(options.reason ? { reason: options.reason } : {}),
          });
    printResult(options.json, status, () =>
      keyValueTable([
        ["stream_id", status.stream_id],
        ["status", status.status],
        ["reason", status.reason],
        ["waiting", status.waiting],
        ["max_attempts", status.max_attempts],
      ]),
    );
  });
}
