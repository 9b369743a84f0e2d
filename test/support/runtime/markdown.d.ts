// Vite's `?raw` suffix: a file's text as a string (the docs coverage tests read docs/*.md this way).
declare module "*.md?raw" {
  const text: string;
  export default text;
}

// The same for a wrangler.toml (the docs coverage tests list the Durable Object classes bound there).
declare module "*.toml?raw" {
  const text: string;
  export default text;
}
