import type { Child } from "hono/jsx";

const STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { max-width: 44rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; }
  h1 { font-size: 1.6rem; margin-bottom: .25rem; }
  form { margin-top: 1.25rem; }
  form.card { display: grid; gap: .75rem; max-width: 24rem; }
  label { display: grid; gap: .25rem; font-weight: 600; }
  input { font: inherit; padding: .5rem .6rem; border: 1px solid #8889; border-radius: .4rem; }
  button { font: inherit; padding: .55rem 1rem; border: 0; border-radius: .4rem; background: #2f5bd3; color: white; cursor: pointer; }
  button.secondary { background: #6669; }
  .error { color: #b00020; font-weight: 600; }
  .muted { color: #777; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #8884; }
  code { font-size: .9em; }
`;

export function Layout(props: { title: string; nonce: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Mono-Auth`}</title>
        <style nonce={props.nonce}>{STYLE}</style>
      </head>
      <body>{props.children}</body>
    </html>
  );
}
