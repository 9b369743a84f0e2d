import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";

const PASSKEY_API = `${ENDPOINT.authApi}/passkey`;

/**
 * The WebAuthn ceremonies (W3C Web Authentication Level 3), the only script
 * the sign-in and account pages run: registering a passkey (account page,
 * `#passkey-register`) and signing in with one (sign-in page,
 * `#passkey-sign-in`). Better Auth's passkey endpoints speak the JSON forms
 * of the options and credentials (base64url for every byte string); this
 * converts them for `navigator.credentials` and back. Served as a static
 * file that each page loads with its CSP nonce (pages/account-handlers.tsx).
 */
export const WEBAUTHN_SCRIPT = `"use strict";
(() => {
  const api = ${JSON.stringify(PASSKEY_API)};
  const home = ${JSON.stringify(ENDPOINT.app)};
  const toBytes = (b64url) => {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64url.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  };
  const toB64url = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const show = (el, message, isError) => {
    if (!el) return;
    el.textContent = message;
    el.className = isError ? "error" : "muted";
  };
  const post = (path, body) =>
    fetch(api + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const failure = async (response) => {
    const body = await response.json().catch(() => ({}));
    return body.message || body.code || "status " + response.status;
  };

  const register = document.getElementById("passkey-register");
  if (register) {
    const status = document.getElementById("passkey-status");
    register.addEventListener("click", async () => {
      const name = (document.getElementById("passkey-name")?.value || "Passkey").trim();
      try {
        show(status, "Asking your device for a new passkey…");
        const optionsResponse = await fetch(api + "/generate-register-options?name=" + encodeURIComponent(name));
        if (!optionsResponse.ok) return show(status, "Could not start: " + (await failure(optionsResponse)), true);
        const options = await optionsResponse.json();
        options.challenge = toBytes(options.challenge);
        options.user.id = toBytes(options.user.id);
        options.excludeCredentials = (options.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) }));
        const credential = await navigator.credentials.create({ publicKey: options });
        const response = {
          id: credential.id,
          rawId: toB64url(credential.rawId),
          type: credential.type,
          authenticatorAttachment: credential.authenticatorAttachment || undefined,
          clientExtensionResults: credential.getClientExtensionResults(),
          response: {
            clientDataJSON: toB64url(credential.response.clientDataJSON),
            attestationObject: toB64url(credential.response.attestationObject),
            transports: credential.response.getTransports ? credential.response.getTransports() : [],
          },
        };
        const verified = await post("/verify-registration", { response, name });
        if (!verified.ok) return show(status, "Not added: " + (await failure(verified)), true);
        location.reload();
      } catch (error) {
        show(status, "Not added: " + (error && error.name === "NotAllowedError" ? "cancelled" : error), true);
      }
    });
  }

  const signIn = document.getElementById("passkey-sign-in");
  if (signIn) {
    const status = document.getElementById("passkey-sign-in-status");
    signIn.addEventListener("click", async () => {
      try {
        show(status, "Asking your device for a passkey…");
        const optionsResponse = await fetch(api + "/generate-authenticate-options");
        if (!optionsResponse.ok) return show(status, "Could not start: " + (await failure(optionsResponse)), true);
        const options = await optionsResponse.json();
        options.challenge = toBytes(options.challenge);
        options.allowCredentials = (options.allowCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) }));
        const credential = await navigator.credentials.get({ publicKey: options });
        const response = {
          id: credential.id,
          rawId: toB64url(credential.rawId),
          type: credential.type,
          authenticatorAttachment: credential.authenticatorAttachment || undefined,
          clientExtensionResults: credential.getClientExtensionResults(),
          response: {
            clientDataJSON: toB64url(credential.response.clientDataJSON),
            authenticatorData: toB64url(credential.response.authenticatorData),
            signature: toB64url(credential.response.signature),
            userHandle: credential.response.userHandle ? toB64url(credential.response.userHandle) : undefined,
          },
        };
        const verified = await post("/verify-authentication", { response });
        if (!verified.ok) return show(status, "That passkey did not sign you in.", true);
        location.assign(home);
      } catch (error) {
        show(status, "Not signed in: " + (error && error.name === "NotAllowedError" ? "cancelled" : error), true);
      }
    });
  }
})();
`;
