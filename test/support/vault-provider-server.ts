// The saved-token vault's test provider (test/support/runtime/vault-upstream),
// served over real HTTP on 127.0.0.1 for the system tests: the same OAuth
// server the in-runtime tests bind as a Worker, here a Node server the token
// Worker reaches with its ordinary fetch.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import provider from "./runtime/vault-upstream/index.ts";

export interface ProviderServer {
  /** e.g. http://127.0.0.1:PORT */
  origin: string;
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
  close: () => Promise<void>;
}

async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.set(name, value);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(new URL(req.url ?? "/", origin), {
    method: req.method,
    headers,
    ...(hasBody ? { body: Buffer.concat(chunks) } : {}),
  });
}

async function answer(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

export async function startProviderServer(): Promise<ProviderServer> {
  let origin = "";
  const server = createServer((req, res) => {
    toRequest(req, origin)
      .then((request) => provider.fetch(request))
      .then((response) => answer(res, response))
      .catch(() => {
        res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    fetch: (path, init) => fetch(new URL(path, origin), { redirect: "manual", ...init }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
