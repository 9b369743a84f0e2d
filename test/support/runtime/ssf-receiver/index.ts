import { DurableObject } from "cloudflare:workers";

/** One push as the receiver saw it. */
export interface ReceivedPush {
  authorization: string | null;
  contentType: string | null;
  /** An access webhook's delivery id (workers/token/src/mcp/webhook-delivery.ts); null for a SET push. */
  webhookId: string | null;
  body: string;
}

interface ReceiverEnv {
  RECEIVER_LOG: DurableObjectNamespace<ReceiverLog>;
}

/**
 * Every push to one receiver name (`/push/<name>`): how many attempts came,
 * and the ones it accepted. One object per name, so concurrent tests do not
 * share a log.
 */
export class ReceiverLog extends DurableObject<ReceiverEnv> {
  async attempt(failFirst: number, push: ReceivedPush): Promise<boolean> {
    const attempts = ((await this.ctx.storage.get<number>("attempts")) ?? 0) + 1;
    await this.ctx.storage.put("attempts", attempts);
    if (attempts <= failFirst) return false;
    const received = (await this.ctx.storage.get<ReceivedPush[]>("received")) ?? [];
    received.push(push);
    await this.ctx.storage.put("received", received);
    return true;
  }

  async log(): Promise<{ attempts: number; received: ReceivedPush[] }> {
    return {
      attempts: (await this.ctx.storage.get<number>("attempts")) ?? 0,
      received: (await this.ctx.storage.get<ReceivedPush[]>("received")) ?? [],
    };
  }
}

/**
 * POST /push/<name>?fail=N (or /push/<name>/fail/N, for a URL that may carry
 * no query): answers 503 to the first N attempts (a receiver that is down),
 * then 202 Accepted (RFC 8935 §2.2) and records the SET.
 * GET /push/<name>: the log, for the test.
 */
export default {
  async fetch(request, env): Promise<Response> {
    const url = new URL(request.url);
    const match = /^\/push\/([\w-]{1,64})(?:\/fail\/(\d{1,3}))?$/.exec(url.pathname);
    const name = match?.[1];
    if (!name) return new Response("not found", { status: 404 });
    const log = env.RECEIVER_LOG.getByName(name);
    if (request.method === "GET") return Response.json(await log.log());
    if (request.method !== "POST") return new Response(null, { status: 405 });
    const accepted = await log.attempt(Number(url.searchParams.get("fail") ?? match?.[2] ?? "0"), {
      authorization: request.headers.get("authorization"),
      contentType: request.headers.get("content-type"),
      webhookId: request.headers.get("webhook-id"),
      // A SET is ASCII (a compact JWS); read as bytes, not as text of a declared text type.
      body: new TextDecoder().decode(await request.arrayBuffer()),
    });
    return new Response(null, { status: accepted ? 202 : 503 });
  },
} satisfies ExportedHandler<ReceiverEnv>;
