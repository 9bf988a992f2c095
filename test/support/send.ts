/**
 * A stand-in for Fastify's `inject` (light-my-request cannot load under jest: its `cookie` dependency is ESM only):
 * the app on a free loopback port, one request with fetch, the connection closed after it.
 */
import type { FastifyInstance } from 'fastify';

export interface Sent {
  statusCode: number;
  headers: Headers;
  body: string;
  json: Record<string, unknown> | undefined;
}

export async function send(
  app: FastifyInstance,
  req: { method?: string; url: string; headers?: Record<string, string>; payload?: string | Buffer },
): Promise<Sent> {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const res = await fetch(`http://127.0.0.1:${port}${req.url}`, {
    method: req.method ?? 'GET',
    headers: { connection: 'close', ...req.headers },
    ...(req.payload !== undefined ? { body: req.payload } : {}),
  });
  const body = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { statusCode: res.status, headers: res.headers, body, json };
}
