// Vite's `?raw` suffix: a file's text as a string (the docs coverage tests read docs/*.md this way).
declare module "*.md?raw" {
  const text: string;
  export default text;
}
