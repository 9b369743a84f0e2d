import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { RunningSystem } from "./system.ts";

/**
 * What the gateway says of a bearer token at the demo's documents: "allowed",
 * or its status and stable code (`401 ERR_TOKEN_REVOKED`: the code before
 * the description's colon, else the RFC 6750 `error`). Suites poll it until
 * a revocation reaches the gateway.
 */
export async function gatewayVerdict(system: RunningSystem, token: string): Promise<string> {
  const response = await system.fetch(ENDPOINT.documents, { headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 200) {
    await response.body?.cancel();
    return "allowed";
  }
  const body = (await response.json()) as { error?: string; error_description?: string };
  return `${response.status} ${body.error_description?.split(":")[0] ?? body.error}`;
}
