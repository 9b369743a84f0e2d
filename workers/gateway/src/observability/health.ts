import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { REQUEST_ID_HEADER } from "../../../../shared/contracts/headers.ts";
import { healthResponse } from "../../../../shared/observability/log.ts";

/** How long a Worker behind the gateway has to answer its /health. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * GET /health at the one origin: the gateway itself, and each Worker it
 * reaches by service binding asked for its own /health (200 only when all
 * answer 200; 503 `degraded` naming the one that did not).
 */
export async function gatewayHealth(
  env: Pick<GatewayEnv, "AUTHN" | "TOKEN" | "DEMO" | "ORG_STATE_WORKER">,
  requestId: string,
): Promise<Response> {
  const bindings = {
    token: env.TOKEN,
    authn: env.AUTHN,
    demo: env.DEMO,
    // Every revocation check and mint limit lives in its objects: a gateway that
    // cannot reach that Worker is not healthy, whatever else answers.
    "org-state": env.ORG_STATE_WORKER,
  } as const;
  const entries = await Promise.all(
    Object.entries(bindings).map(async ([name, binding]) => {
      try {
        const response = await binding.fetch(`https://internal${ENDPOINT.health}`, {
          headers: { [REQUEST_ID_HEADER]: requestId },
          signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
        });
        return [name, response.status === 200 ? "ok" : "down"] as const;
      } catch {
        return [name, "down"] as const;
      }
    }),
  );
  return healthResponse("gateway", Object.fromEntries(entries));
}
