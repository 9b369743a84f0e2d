// Types for scripts/private-file.mjs, which `npm start` and the CLI share.
export function writePrivateFile(path: string, text: string): void;
