/**
 * The benchmark's QorePay webhook receiver, in the driver process. It timestamps each delivery on receipt, then runs
 * the engine's own ingress (`handleQorePayWebhook`: verify the signature, re-read the Purchase, signal the cycle),
 * i.e. the API's webhook route without Fastify around it. While `forward` is off it only counts and answers 200, so
 * throughput runs measure cycles, not webhook traffic.
 */
import { createServer, type Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { handleQorePayWebhook, type WebhookIngressDeps } from '../../src/api/qorepay-webhook';
import { WebhookIngress as EngineIngress } from '@temporal-billing/client/engine';
import { QorePayClient, QorePayWebhookVerifier } from '../../src/integrations/qorepay';
import type { Logger } from '../../src/logger';

export interface WebhookIngress {
  readonly url: string;
  forward: boolean;
  /** Receipt time (epoch ms) of the first `purchase.paid` delivery per Purchase reference (the cycle id). */
  readonly paidReceipts: Map<string, number>;
  readonly counts: { received: number; forwarded: number; non2xx: number };
  close(): Promise<void>;
}

export async function startWebhookIngress(opts: {
  port: number;
  qorepayBaseUrl: string;
  qorepayApiKey: string;
  temporal: Client;
  logger: Logger;
}): Promise<WebhookIngress> {
  const qorepay = new QorePayClient({
    baseUrl: opts.qorepayBaseUrl,
    apiKey: opts.qorepayApiKey,
    brandId: '00000000-0000-4000-8000-000000000001',
    timeoutMs: 10_000,
    logger: opts.logger,
  });
  const deps: WebhookIngressDeps = {
    verifier: new QorePayWebhookVerifier({
      fetchCompanyKey: () => qorepay.getPublicKey(),
      webhookKeys: [],
      logger: opts.logger,
    }),
    qorepay,
    ingress: new EngineIngress({ client: opts.temporal }),
    logger: opts.logger,
  };
  const paidReceipts = new Map<string, number>();
  const counts = { received: 0, forwarded: 0, non2xx: 0 };
  const state = { forward: false };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const receivedAt = Date.now();
      counts.received++;
      const body = Buffer.concat(chunks);
      if (!state.forward) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        return;
      }
      try {
        const parsed = JSON.parse(body.toString('utf8')) as { event_type?: string; reference?: string | null };
        if (parsed.event_type === 'purchase.paid' && parsed.reference && !paidReceipts.has(parsed.reference)) {
          paidReceipts.set(parsed.reference, receivedAt);
        }
      } catch {
        // not JSON: the ingress answers 400 itself
      }
      counts.forwarded++;
      handleQorePayWebhook(deps, body, req.headers['x-signature']).then(
        (out) => {
          if (out.status >= 300) counts.non2xx++;
          res.writeHead(out.status, { 'content-type': 'application/json' }).end(JSON.stringify(out.body));
        },
        () => {
          counts.non2xx++;
          res.writeHead(500).end();
        },
      );
    });
  });
  await new Promise<void>((resolveListen) => server.listen(opts.port, '127.0.0.1', resolveListen));
  return {
    url: `http://127.0.0.1:${opts.port}/webhooks/qorepay`,
    get forward() {
      return state.forward;
    },
    set forward(v: boolean) {
      state.forward = v;
    },
    paidReceipts,
    counts,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
