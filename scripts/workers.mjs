// The Workers of this repository and how their configs combine. Used by the
// env-type generator, `npm start` and the benchmark, so there is one list.
export const WORKERS = {
  gateway: { config: "wrangler.toml", envInterface: "GatewayEnv" },
  token: { config: "workers/token/wrangler.toml", envInterface: "TokenEnv" },
  authn: { config: "workers/authn/wrangler.toml", envInterface: "AuthnEnv" },
  demo: { config: "workers/demo/wrangler.toml", envInterface: "DemoEnv" },
};

/** The gateway first: it is the one origin; the rest are reached by binding. */
export const SYSTEM_CONFIGS = ["gateway", "token", "authn", "demo"].map((n) => WORKERS[n].config);
