/**
 * The webhook ingress of a chaos run with faults in front of it: per subscription, deliveries are passed on, sent
 * twice, dropped, held for simulated hours, or held until the next event for the same Purchase overtakes them. The
 * gateway always gets a 2xx for what the fault layer took, so a dropped webhook is really lost (only polling or the
 * reconciliation sweep can find its outcome).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleQorePayWebhook, type WebhookIngressDeps } from '../../src/api/qorepay-webhook';
import type { WebhookFault } from './plan';
import { Random } from './random';

interface Held {
  body: Buffer;
  signature: string | string[] | undefined;
  releaseAt: number;
}

export interface FaultCounts {
  delivered: number;
  duplicated: number;
  dropped: number;
  delayed: number;
  reordered: number;
}

export class WebhookFaultLayer {
  readonly counts: FaultCounts = { delivered: 0, duplicated: 0, dropped: 0, delayed: 0, reordered: 0 };
  /** The ingress behind the faults (swapped per batch of subscriptions); undefined: answer 200 and forget. */
  deps: WebhookIngressDeps | undefined;
  /** Simulated now, advanced by the driver. */
  simNow = 0;
  private readonly held: Held[] = [];
  private readonly reorderHeld = new Map<string, Held>();
  private readonly rnd: Random;
  private server: Server | undefined;
  url = '';

  constructor(
    seed: number,
    private readonly faultOf: (subscriptionId: string) => { fault: WebhookFault; delayHours: number } | undefined,
  ) {
    this.rnd = new Random(seed).fork('webhooks');
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.receive(Buffer.concat(chunks), req.headers['x-signature']).then((status) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end('{}'),
        );
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/qorepay`;
    return this.url;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async forward(body: Buffer, signature: string | string[] | undefined): Promise<number> {
    if (!this.deps) return 200;
    this.counts.delivered++;
    const out = await handleQorePayWebhook(this.deps, body, signature);
    return out.status;
  }

  private async receive(body: Buffer, signature: string | string[] | undefined): Promise<number> {
    let reference = '';
    let objectId = '';
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { reference?: string; id?: string; related_to?: { id?: string } };
      reference = parsed.reference ?? '';
      objectId = parsed.related_to?.id ?? parsed.id ?? '';
    } catch {
      // not JSON: the ingress answers it
    }
    const subscriptionId = /^cycle:([A-Za-z0-9_-]+):\d+$/.exec(reference)?.[1];
    const profile = subscriptionId ? this.faultOf(subscriptionId) : undefined;
    if (subscriptionId && !profile) return 200; // a subscription of an earlier batch: its server is gone
    switch (profile?.fault ?? 'none') {
      case 'duplicate': {
        this.counts.duplicated++;
        const first = await this.forward(body, signature);
        await this.forward(body, signature);
        return first;
      }
      case 'drop':
        if (this.rnd.chance(0.5)) {
          this.counts.dropped++;
          return 200;
        }
        return this.forward(body, signature);
      case 'delay':
        this.counts.delayed++;
        this.held.push({ body, signature, releaseAt: this.simNow + (profile?.delayHours ?? 1) * 3_600_000 });
        return 200;
      case 'reorder': {
        const earlier = this.reorderHeld.get(objectId);
        if (earlier) {
          this.reorderHeld.delete(objectId);
          this.counts.reordered++;
          const status = await this.forward(body, signature);
          await this.forward(earlier.body, earlier.signature);
          return status;
        }
        this.reorderHeld.set(objectId, { body, signature, releaseAt: this.simNow + 3_600_000 });
        return 200;
      }
      default:
        return this.forward(body, signature);
    }
  }

  /** Delivers what is due at simulated `now` (all of it with `flush`). */
  async tick(now: number, flush = false): Promise<void> {
    this.simNow = now;
    const due = this.held.filter((h) => flush || h.releaseAt <= now);
    for (const h of due) this.held.splice(this.held.indexOf(h), 1);
    for (const [k, h] of this.reorderHeld) {
      if (flush || h.releaseAt <= now) {
        this.reorderHeld.delete(k);
        due.push(h);
      }
    }
    for (const h of due) await this.forward(h.body, h.signature).catch(() => 0);
  }

  /** Forgets what is still held (the batch's Temporal server is going away). */
  reset(): void {
    this.held.length = 0;
    this.reorderHeld.clear();
  }
}
