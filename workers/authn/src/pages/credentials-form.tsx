import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { MAX_PASSWORD_UTF16_UNITS, MIN_PASSWORD_LENGTH } from "../security/password-policy.ts";
import { Layout } from "./layout.tsx";
import { PasskeySignIn } from "./passkey-sign-in.tsx";

export interface CredentialsFormProps {
  mode: "sign-in" | "sign-up";
  nonce: string;
  error?: string;
  email?: string;
  name?: string;
}

/** The sign-in and sign-up pages: plain forms that work without JavaScript. */
export function CredentialsForm(props: CredentialsFormProps) {
  const signUp = props.mode === "sign-up";
  return (
    <Layout title={signUp ? "Create an account" : "Sign in"} nonce={props.nonce}>
      <h1>{signUp ? "Create an account" : "Sign in"}</h1>
      <p class="muted">Mono-Auth · one boundary for people, machines and agents</p>
      {props.error ? (
        <p class="error" role="alert" data-testid="form-error">
          {props.error}
        </p>
      ) : null}
      <form class="card" method="post" action={signUp ? "/sign-up" : "/sign-in"}>
        {signUp ? (
          <label>
            Name
            <input name="name" autocomplete="name" required maxlength={100} value={props.name ?? ""} />
          </label>
        ) : null}
        <label>
          Email
          <input name="email" type="email" autocomplete="email" required maxlength={254} value={props.email ?? ""} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={signUp ? "new-password" : "current-password"}
            required
            minlength={signUp ? MIN_PASSWORD_LENGTH : undefined}
            maxlength={MAX_PASSWORD_UTF16_UNITS}
          />
        </label>
        <button type="submit">{signUp ? "Create account" : "Sign in"}</button>
      </form>
      {signUp ? null : <PasskeySignIn nonce={props.nonce} />}
      <p>
        {signUp ? (
          <>
            Already have an account? <a href="/sign-in">Sign in</a>
          </>
        ) : (
          <>
            New here? <a href="/sign-up">Create an account</a> ·{" "}
            <a href={ENDPOINT.forgotPassword}>Forgot your password?</a> ·{" "}
            <a href={ENDPOINT.unlockSignIn}>Locked out?</a>
          </>
        )}
      </p>
    </Layout>
  );
}
