/**
 * The codec endpoint the Temporal UI (and `temporal --codec-endpoint`) calls to show operators decoded payloads:
 * `POST /codec/decode` and `POST /codec/encode` with `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`.
 *
 * Browsers call it from the UI's origin, so it answers CORS for that one configured origin only (preflights from any
 * other origin get 403 and no CORS headers). Every POST needs a bearer key from CODEC_API_KEYS; with none configured
 * it fails closed, except under the public development key, where decoding reveals nothing a reader of this
 * repository could not decode anyway (that is how `npm start` lets its dev UI decode without a login).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';

export interface CodecEndpointOptions {
  codec: PayloadCodec;
  /** Checks the presented bearer key. */
  authorize: (bearer: string | undefined) => boolean;
  /** No key configured and the development key in use: no bearer needed. */
  open: boolean;
  /** The UI origin allowed to call from a browser (scheme://host:port). */
  allowedOrigin?: string;
}

/** The UI sends one page of a history's payloads at a time. */
export const CODEC_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const PayloadsBody = z.object({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }))
    .max(10_000),
});

type JsonPayload = z.infer<typeof PayloadsBody>['payloads'][number];

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

export function registerCodecRoutes(app: FastifyInstance, opts: CodecEndpointOptions): void {
  void app.register(async (scope) => {
    const corsFor = (req: FastifyRequest, reply: FastifyReply): boolean => {
      const origin = req.headers.origin;
      if (origin === undefined) return true; // not a browser request (CLI, curl)
      if (!opts.allowedOrigin || origin !== opts.allowedOrigin) return false;
      void reply
        .header('access-control-allow-origin', origin)
        .header('access-control-allow-credentials', 'true')
        .header('vary', 'Origin');
      return true;
    };

    // Origin and key are checked when the request line and headers are in, before any body is read: a caller
    // without the key cannot make the API buffer and parse megabytes.
    scope.addHook('onRequest', async (req, reply) => {
      if (req.method !== 'POST') return;
      if (!corsFor(req, reply)) {
        return reply
          .code(403)
          .send({ error: 'origin_not_allowed', message: 'this origin may not call the codec endpoint' });
      }
      if (!opts.open && !opts.authorize(bearer(req))) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="codec"')
          .send({ error: 'unauthorized', message: 'send the header Authorization: Bearer <a key of CODEC_API_KEYS>' });
      }
    });

    for (const op of ['decode', 'encode'] as const) {
      scope.options(`/codec/${op}`, async (req, reply) => {
        if (!corsFor(req, reply) || req.headers.origin === undefined) return reply.code(403).send();
        return reply
          .code(204)
          .header('access-control-allow-methods', 'POST, OPTIONS')
          .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
          .header('access-control-max-age', '600')
          .send();
      });

      scope.post(`/codec/${op}`, { bodyLimit: CODEC_BODY_LIMIT_BYTES }, async (req, reply) => {
        const parsed = PayloadsBody.safeParse(req.body);
        if (!parsed.success) {
          return reply.code(400).send({
            error: 'validation_failed',
            issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          });
        }
        const input = parsed.data.payloads.map(fromJson);
        try {
          const out = op === 'decode' ? await opts.codec.decode(input) : await opts.codec.encode(input);
          return { payloads: out.map(toJson) };
        } catch (err) {
          return reply
            .code(400)
            .send({ error: `${op}_failed`, message: err instanceof Error ? err.message : String(err) });
        }
      });
    }
  });
}
