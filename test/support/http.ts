/** Test HTTP helpers: polling, unique names, and a scripted HTTP server (a webhook receiver or a fake API). */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `pred` holds (the jest test timeout is the only bound). */
export async function until<T>(read: () => Promise<T> | T, pred: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (pred(v)) return v;
    await sleep(20);
  }
}

export const uniq = (prefix: string): string => `${prefix}_${Math.random().toString(36).slice(2, 10)}`;

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  json: Record<string, unknown> | undefined;
}

export interface ScriptedServer {
  url: string;
  origin: string;
  received: ReceivedRequest[];
  /** Decides each answer; default 200 `{}`. */
  respond: (
    req: ReceivedRequest,
    index: number,
  ) => { status: number; body?: unknown; headers?: Record<string, string>; hang?: boolean };
  close(): Promise<void>;
}

/** A tiny HTTP server that records every request and answers as scripted (webhook receiver or fake gateway). */
export async function startScriptedServer(): Promise<ScriptedServer> {
  const hanging = new Set<() => void>();
  const state: ScriptedServer = {
    url: '',
    origin: '',
    received: [],
    respond: () => ({ status: 200, body: {} }),
    close: async () => {
      for (const h of hanging) h();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let json: Record<string, unknown> | undefined;
      try {
        json = raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      const rec: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, json };
      state.received.push(rec);
      const answer = state.respond(rec, state.received.length - 1);
      if (answer.hang) {
        const end = (): void => {
          res.destroy();
        };
        hanging.add(end);
        res.on('close', () => hanging.delete(end));
        return;
      }
      const body =
        answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...(answer.headers ?? {}) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}`;
  state.url = `${state.origin}/hook`;
  return state;
}
