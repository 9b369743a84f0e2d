import type { Child } from "hono/jsx";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { Layout } from "../pages/layout.tsx";
import type { Problem } from "./admin-call.ts";
import type { ConsoleCaller } from "./types.ts";

/** What the console adds to the pages' one look (pages/layout.tsx): a nav bar, wide tables, notices. */
const CONSOLE_STYLE = `
  body { max-width: 72rem; }
  nav.console { display: flex; gap: 1rem; flex-wrap: wrap; padding: .5rem 0 1rem; border-bottom: 1px solid #8884; }
  nav.console a { text-decoration: none; font-weight: 600; }
  nav.console .who { margin-left: auto; }
  form.inline { display: inline; margin: 0; }
  form.row { display: flex; gap: .5rem; flex-wrap: wrap; align-items: end; }
  textarea { font: .9em ui-monospace, monospace; width: 100%; min-height: 14rem; }
  select { font: inherit; padding: .45rem; }
  pre { background: #8881; padding: .75rem; overflow: auto; border-radius: .4rem; }
  .notice { padding: .6rem .8rem; border-radius: .4rem; background: #2f5bd322; }
  .secret { font: 1em ui-monospace, monospace; padding: .6rem; border: 2px dashed #b00020; word-break: break-all; }
  .counts { display: flex; gap: 1.5rem; flex-wrap: wrap; }
  .counts div { padding: .6rem 1rem; border: 1px solid #8884; border-radius: .4rem; }
  .counts strong { display: block; font-size: 1.4rem; }
  .ok { color: #1b7f3b; font-weight: 600; }
`;

export function ConsoleLayout(props: { title: string; nonce: string; caller: ConsoleCaller; children: Child }) {
  const base = ENDPOINT.console;
  return (
    <Layout title={`${props.title} · Console`} nonce={props.nonce}>
      <style nonce={props.nonce}>{CONSOLE_STYLE}</style>
      <nav class="console" aria-label="Console">
        <a href={base}>Organizations</a>
        {props.caller.platformOperator ? <a href={`${base}/users`}>People</a> : null}
        {props.caller.platformOperator ? <a href={`${base}/keys`}>Keys</a> : null}
        <a href={`${base}/audit`}>Audit</a>
        <span class="who muted" data-testid="console-who">
          {props.caller.email} · {props.caller.platformOperator ? "platform operator" : "organization admin"}
        </span>
      </nav>
      <h1>{props.title}</h1>
      {props.children}
    </Layout>
  );
}

export function ProblemNotice(props: { problem: Problem | undefined }) {
  if (!props.problem) return null;
  const p = props.problem;
  return (
    <p class="error" role="alert" data-testid="problem">
      {p.title}: {p.detail} <code>({p.code})</code>
    </p>
  );
}

export function Notice(props: { text: string | undefined }) {
  return props.text ? (
    <p class="notice" role="status" data-testid="notice">
      {props.text}
    </p>
  ) : null;
}
