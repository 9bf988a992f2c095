/**
 * Fault injection shared by the sandboxes:
 * - `failNext(n, status)`: the next n requests (any route, before authentication) answer `status` with the sandbox's
 *   own error body and change nothing;
 * - `commitThenTimeout()`: the next write commits, then its request is never answered (the client times out and cannot
 *   know whether it was applied);
 * - `hijack(reply, holdMs?)`: leave a reply unanswered, its socket held until `holdMs` passes or the sandbox closes.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface FaultOptions {
  /** The body of an injected failure, in the sandbox's error format; default `{error: {code, message}}`. */
  failureBody?: (status: number) => unknown;
  /** The `code` of the default body. */
  failureCode?: string;
}

const INJECTED = 'Injected failure (sandbox failNext)';

export class Faults {
  private failures = { remaining: 0, status: 500 };
  private hangNextWrite = false;
  private readonly held = new Set<{ destroy(): void }>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: FaultOptions = {}) {}

  /** Answers injected failures before any route or authentication runs. */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (_req, reply) => {
      if (this.failures.remaining <= 0) return undefined;
      this.failures.remaining--;
      const { status } = this.failures;
      const body = this.options.failureBody?.(status) ?? {
        error: { code: this.options.failureCode ?? 'internal_error', message: INJECTED },
      };
      return reply.code(status).send(body);
    });
  }

  failNext(n: number, status = 500): void {
    this.failures = { remaining: n, status };
  }

  commitThenTimeout(): void {
    this.hangNextWrite = true;
  }

  /** Answers a committed write, unless `commitThenTimeout` asked for its answer to be lost. */
  answerWrite(reply: FastifyReply, status: number, payload: unknown): FastifyReply {
    if (!this.hangNextWrite) return reply.code(status).send(payload);
    this.hangNextWrite = false;
    return this.hijack(reply);
  }

  /** Never answers `reply`; its socket is destroyed after `holdMs` (if given) or when the sandbox closes. */
  hijack(reply: FastifyReply, holdMs?: number): FastifyReply {
    reply.hijack();
    const socket = reply.raw.socket ?? reply.request.raw.socket;
    const handle = { destroy: () => socket.destroy() };
    this.held.add(handle);
    socket.once('close', () => this.held.delete(handle));
    if (holdMs !== undefined) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.held.delete(handle);
        socket.destroy();
      }, holdMs);
      this.timers.add(timer);
    }
    return reply;
  }

  /** Drops every held reply (call before closing the app). */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const h of this.held) h.destroy();
    this.held.clear();
  }
}

/** What every sandbox handle offers for faults and shutdown, to spread into it. */
export function faultControls(
  app: { close(): Promise<unknown> },
  faults: Faults,
): { close(): Promise<void>; failNext(n: number, status?: number): void; commitThenTimeout(): void } {
  return {
    async close() {
      faults.close();
      await app.close();
    },
    failNext: (n, status) => faults.failNext(n, status),
    commitThenTimeout: () => faults.commitThenTimeout(),
  };
}
