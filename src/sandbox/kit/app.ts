/** The Fastify app every sandbox runs on, and listening on a (free) port. */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';

export interface ListenOptions {
  /** Default 0: a free port. */
  port?: number | undefined;
  /** Default 127.0.0.1. */
  host?: string | undefined;
}

export function createSandboxApp(options: { ignoreTrailingSlash?: boolean } = {}): FastifyInstance {
  return Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 1024 * 1024,
    ...(options.ignoreTrailingSlash ? { routerOptions: { ignoreTrailingSlash: true } } : {}),
  });
}

/** Listens and returns the origin, e.g. `http://127.0.0.1:43121`. */
export async function listen(app: FastifyInstance, options: ListenOptions): Promise<string> {
  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
