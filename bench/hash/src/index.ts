import { hashOnce } from "../../lib/scrypt-params.ts";

/**
 * GET /         hashes once and answers 204.
 * GET /?hash=0  answers 204 without hashing: the HTTP round trip alone.
 *
 * The time is measured by the client: inside workerd the clock does not
 * advance during pure computation, so the Worker cannot time itself.
 */
export default {
  async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).searchParams.get("hash") !== "0") await hashOnce();
    return new Response(null, { status: 204 });
  },
};
