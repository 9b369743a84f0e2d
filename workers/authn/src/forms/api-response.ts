import { isAPIError } from "better-auth/api";

/**
 * A Better Auth API call made with `asResponse: true`, as a Response even
 * when a `hooks.before` refused it: Better Auth throws those refusals (an
 * APIError) instead of answering with them, so a page would otherwise turn
 * a client's mistake (a common password) into a 500.
 */
export async function apiResponse(call: () => Promise<Response>): Promise<Response> {
  try {
    return await call();
  } catch (error) {
    if (!isAPIError(error)) throw error;
    return new Response(JSON.stringify(error.body ?? {}), {
      status: error.statusCode,
      headers: { "Content-Type": "application/json" },
    });
  }
}
