import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { getAuth } from "../auth/create-auth.ts";
import { TOO_MANY_ATTEMPTS } from "./handlers.tsx";
import { crossOriginPost, type FlowContext, FlowPage, formFields, overLimit } from "./flow-kit.tsx";

/**
 * ENDPOINT.verifyEmail: the link in a verification (or email-change) mail
 * opens a page with one button; the token is spent by that same-origin POST,
 * never by the GET, so a mail scanner that follows links confirms nothing.
 * Without a token the page is "check your inbox" with a resend form, whose
 * answer is the same for every address.
 */
const CHECK_INBOX =
  "If an account with that address is waiting for confirmation, we have sent it a link. Open it to confirm the address, then sign in.";
const BAD_LINK = "This link is invalid or has expired. Ask for a new one below.";

function ResendForm() {
  return (
    <form class="card" method="post" action={ENDPOINT.verifyEmail}>
      <label>
        Email
        <input name="email" type="email" autocomplete="email" required maxlength={254} />
      </label>
      <button type="submit">Send a new link</button>
    </form>
  );
}

export function showVerifyEmail(c: FlowContext) {
  const token = c.req.query("token");
  const nonce = c.var.nonce;
  if (token) {
    return c.html(
      <FlowPage title="Confirm your email address" nonce={nonce}>
        <form class="card" method="post" action={ENDPOINT.verifyEmail}>
          <input type="hidden" name="token" value={token} />
          <button type="submit">Confirm my email address</button>
        </form>
      </FlowPage>,
    );
  }
  return c.html(
    <FlowPage
      title="Check your inbox"
      nonce={nonce}
      notice={c.req.query("sent") ? "We have sent you a link to confirm your email address." : undefined}
    >
      <p class="muted">No mail? Send a new link:</p>
      <ResendForm />
    </FlowPage>,
  );
}

export async function submitVerifyEmail(c: FlowContext) {
  const refused = crossOriginPost(c);
  if (refused) return refused;
  const field = await formFields(c);
  const nonce = c.var.nonce;
  const auth = getAuth(c.env);
  const token = field("token");

  if (token) {
    const limited = await overLimit(c, undefined);
    if (limited)
      return c.html(
        <FlowPage title="Confirm your email address" nonce={nonce} error={TOO_MANY_ATTEMPTS} />,
        429,
        limited,
      );
    const response = await auth.api.verifyEmail({ query: { token }, headers: c.req.raw.headers, asResponse: true });
    if (!response.ok) {
      return c.html(
        <FlowPage title="Confirm your email address" nonce={nonce} error={BAD_LINK}>
          <ResendForm />
        </FlowPage>,
        400,
      );
    }
    for (const cookie of response.headers.getSetCookie()) c.header("Set-Cookie", cookie, { append: true });
    return c.html(
      <FlowPage title="Email address confirmed" nonce={nonce}>
        <p data-testid="verified">
          Your email address is confirmed. <a href={ENDPOINT.signIn}>Sign in</a>
        </p>
      </FlowPage>,
    );
  }

  const email = field("email").trim();
  const limited = await overLimit(c, email);
  if (limited)
    return c.html(<FlowPage title="Check your inbox" nonce={nonce} error={TOO_MANY_ATTEMPTS} />, 429, limited);
  if (email) {
    // Without the cookie: Better Auth's anonymous resend answers alike for
    // every address (and floors its time), where a session's would not.
    const headers = new Headers(c.req.raw.headers);
    headers.delete("Cookie");
    await auth.api.sendVerificationEmail({ body: { email }, headers, asResponse: true });
  }
  return c.html(
    <FlowPage title="Check your inbox" nonce={nonce} notice={CHECK_INBOX}>
      <ResendForm />
    </FlowPage>,
  );
}
