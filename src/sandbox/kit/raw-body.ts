/**
 * JSON bodies parsed with their raw text kept, so a sandbox can show a money literal exactly as the client wrote it
 * (`"total":19.99`, never a float we printed back). An empty body parses as `{}`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

const rawBodies = new WeakMap<object, string>();

/** Installs the parser; `invalid` builds the error for a body that is not JSON (its statusCode is the answer's). */
export function parseJsonKeepingRaw(app: FastifyInstance, invalid: () => Error): void {
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    rawBodies.set(req.raw, text);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(invalid(), undefined);
    }
  });
}

/** The request's body as sent. */
export function rawBodyOf(req: FastifyRequest): string {
  return rawBodies.get(req.raw) ?? '';
}

/** The number literal of `field` exactly as it appeared in the request body, if any. */
export function numberLiteral(req: FastifyRequest, field: string): string | undefined {
  const pattern = new RegExp(`"${field}"\\s*:\\s*(-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)`);
  return pattern.exec(rawBodyOf(req))?.[1];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The parsed body when it is an object, else `{}`. */
export function bodyOf(req: FastifyRequest): Record<string, unknown> {
  return isRecord(req.body) ? req.body : {};
}
