import { jwtVerify } from "jose";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { clickVerifies, EMAIL_VERIFICATION_PASSWORD_REQUIRED } from "../security/sign-up-binding.ts";
import { TOO_MANY_ATTEMPTS } from "./handlers.tsx";
import {
  callVerifyEmail,
  PasswordConfirmPage,
  passwordRequired,
  refusalCode,
  verifyWithPassword,
} from "./verify-email-password.tsx";
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

/**
 * What a link asks, read from its token (Better Auth's HS256 JWT under the
 * Better Auth secret; the POST checks it again). An email change's approval
 * must say what it approves: the link reaches the current address whoever
 * asked (a stolen session can), and a page that read "confirm your email
 * address" handed the account to the new one on a click. A token that does
 * not verify gets the plain page, and its POST the refusal.
 */
type LinkAsk =
  | { kind: "address"; account?: { userId: string; email: string } }
  | { kind: "approve-change" | "confirm-change"; newEmail: string };

async function linkAsk(secret: string, token: string): Promise<LinkAsk> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ["HS256"] });
    const newEmail = typeof payload.updateTo === "string" ? payload.updateTo : "";
    if (newEmail && payload.requestType === "change-email-confirmation") return { kind: "approve-change", newEmail };
    if (newEmail && payload.requestType === "change-email-verification") return { kind: "confirm-change", newEmail };
    // Better Auth names the account it was sent for (1.7: `userId`, checked again when spent).
    if (!newEmail && typeof payload.userId === "string" && typeof payload.email === "string")
      return { kind: "address", account: { userId: payload.userId, email: payload.email } };
  } catch {
    // Forged, altered or expired: the POST says so.
  }
  return { kind: "address" };
}

function LinkForm(props: { token: string; label: string }) {
  return (
    <form class="card" method="post" action={ENDPOINT.verifyEmail}>
      <input type="hidden" name="token" value={props.token} />
      <button type="submit">{props.label}</button>
    </form>
  );
}

export async function showVerifyEmail(c: FlowContext) {
  const token = c.req.query("token");
  const nonce = c.var.nonce;
  if (token) {
    const ask = await linkAsk(authnConfig(c.env).betterAuthSecret, token);
    if (ask.kind === "approve-change") {
      return c.html(
        <FlowPage title="Approve the change of your email address" nonce={nonce}>
          <p>
            Your account's email address would become <strong data-testid="new-email">{ask.newEmail}</strong>, and
            whoever reads that mailbox could then reset your password. If you did not ask for this, do not approve:
            close this page and change your password.
          </p>
          <LinkForm token={token} label="Approve the change" />
        </FlowPage>,
      );
    }
    if (ask.kind === "confirm-change") {
      return c.html(
        <FlowPage title="Confirm your new email address" nonce={nonce}>
          <p>
            Make <strong data-testid="new-email">{ask.newEmail}</strong> your account's email address.
          </p>
          <LinkForm token={token} label="Confirm my new address" />
        </FlowPage>,
      );
    }
    // Away from the browser that signed up, the password is asked first (security/sign-up-binding.ts).
    const config = authnConfig(c.env);
    if (
      ask.kind === "address" &&
      ask.account &&
      !(await clickVerifies(c.env.DB, config, c.req.header("Cookie") ?? null, ask.account.userId))
    )
      return c.html(<PasswordConfirmPage nonce={nonce} token={token} />);
    return c.html(
      <FlowPage title="Confirm your email address" nonce={nonce}>
        <LinkForm token={token} label="Confirm my email address" />
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
    const password = field("password");
    const ask = password ? await linkAsk(authnConfig(c.env).betterAuthSecret, token) : undefined;
    const outcome =
      ask?.kind === "address" && ask.account
        ? await verifyWithPassword(c, { token, ...ask.account }, password)
        : { verified: await callVerifyEmail(c, token, c.req.header("Cookie") ?? null) };
    if ("refused" in outcome) return outcome.refused;
    const response = outcome.verified;
    if (!response.ok && (await refusalCode(response)) === EMAIL_VERIFICATION_PASSWORD_REQUIRED)
      return passwordRequired(c, token);
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
