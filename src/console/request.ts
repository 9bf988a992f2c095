/**
 * What the console's pages share about a request: its signed-in viewer (set by the plugin's auth hook), its form, the
 * CSRF check of a post, and sending a page in the shell (with the session's one-time flash message).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleViewer } from './backend';
import type { html } from './html';
import { CONSOLE_PREFIX, page, type ShellViewer } from './layout';

/** The signed-in viewer of a request (set by the auth hook), with what the shell shows. */
export interface ConsoleRequestViewer extends ConsoleViewer {
  shell: ShellViewer;
}

export const viewers = new WeakMap<FastifyRequest, ConsoleRequestViewer>();
export const viewerOf = (req: FastifyRequest): ConsoleRequestViewer => viewers.get(req)!;

/** A form body as strings (the first value of a repeated field). */
export function formOf(req: FastifyRequest): Record<string, string> {
  const body = (req.body ?? {}) as Record<string, string | string[] | undefined>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') out[k] = first;
  }
  return out;
}

/** The CSRF check of a form post (the token of the session, from the form's `_csrf` field). */
export const checkCsrf =
  (app: FastifyInstance) =>
  (req: FastifyRequest, reply: FastifyReply, done: () => void): void =>
    app.csrfProtection(req, reply, done);

export function sendPage(
  reply: FastifyReply,
  status: number,
  title: string,
  body: ReturnType<typeof html>,
  req?: FastifyRequest,
): FastifyReply {
  const v = req ? viewers.get(req) : reply.request ? viewers.get(reply.request) : undefined;
  const flash = v ? reply.request.session.get('flash') : undefined;
  if (flash) reply.request.session.set('flash', undefined);
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(page({ title, body, flash, ...(v ? { viewer: v.shell } : {}), ...sectionOf(reply.request.url) }));
}

function sectionOf(url: string): { section?: 'overview' | 'subscriptions' | 'payments' | 'invoices' } {
  const p = url.split('?')[0]!;
  if (p === CONSOLE_PREFIX) return { section: 'overview' };
  for (const s of ['subscriptions', 'payments', 'invoices'] as const) {
    if (p.startsWith(`${CONSOLE_PREFIX}/${s}`)) return { section: s };
  }
  if (p.startsWith(`${CONSOLE_PREFIX}/cycles`)) return { section: 'subscriptions' };
  return {};
}

export type SendPage = typeof sendPage;
