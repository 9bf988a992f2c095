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

/** One batch's ingress (its own Temporal server) and its simulated clock, advanced by the batch's driver. */
export interface BatchRoute {
  deps: WebhookIngressDeps;
  simNow: number;
}

interface Held {
  route: BatchRoute;
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
  /** The batch each subscription belongs to; a subscription of a finished batch: answer 200 and forget. */
  readonly routes = new Map<string, BatchRoute>();
  /** Ids of the objects (Payment or Purchase) whose delivery was dropped. */
  readonly lost = new Set<string>();
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

  private async forward(
    route: BatchRoute | undefined,
    body: Buffer,
    signature: string | string[] | undefined,
  ): Promise<number> {
    if (!route) return 200;
    this.counts.delivered++;
    const out = await handleQorePayWebhook(route.deps, body, signature);
    return out.status;
  }

  private async receive(body: Buffer, signature: string | string[] | undefined): Promise<number> {
    let reference = '';
    let objectId = '';
    let ownId = '';
    try {
      const parsed = JSON.parse(body.toString('utf8')) as {
        reference?: string;
        id?: string;
        related_to?: { id?: string };
      };
      reference = parsed.reference ?? '';
      objectId = parsed.related_to?.id ?? parsed.id ?? '';
      ownId = parsed.id ?? '';
    } catch {
      // not JSON: the ingress answers it
    }
    const subscriptionId = /^cycle:([A-Za-z0-9_-]+):\d+$/.exec(reference)?.[1];
    const profile = subscriptionId ? this.faultOf(subscriptionId) : undefined;
    const route = subscriptionId ? this.routes.get(subscriptionId) : undefined;
    if (!route) return 200; // not ours, or a subscription of a finished batch: its server is gone
    switch (profile?.fault ?? 'none') {
      case 'duplicate': {
        this.counts.duplicated++;
        const first = await this.forward(route, body, signature);
        await this.forward(route, body, signature);
        return first;
      }
      case 'drop':
        if (this.rnd.chance(0.5)) {
          this.counts.dropped++;
          if (ownId) this.lost.add(ownId);
          return 200;
        }
        return this.forward(route, body, signature);
      case 'delay':
        this.counts.delayed++;
        this.held.push({ route, body, signature, releaseAt: route.simNow + (profile?.delayHours ?? 1) * 3_600_000 });
        return 200;
      case 'reorder': {
        const earlier = this.reorderHeld.get(objectId);
        if (earlier) {
          this.reorderHeld.delete(objectId);
          this.counts.reordered++;
          const status = await this.forward(route, body, signature);
          await this.forward(route, earlier.body, earlier.signature);
          return status;
        }
        this.reorderHeld.set(objectId, { route, body, signature, releaseAt: route.simNow + 3_600_000 });
        return 200;
      }
      default:
        return this.forward(route, body, signature);
    }
  }

  /** Delivers what is due at simulated `now` (all of it with `flush`). */
  async tick(route: BatchRoute, now: number, flush = false): Promise<void> {
    route.simNow = now;
    const due = this.held.filter((h) => h.route === route && (flush || h.releaseAt <= now));
    for (const h of due) this.held.splice(this.held.indexOf(h), 1);
    for (const [k, h] of this.reorderHeld) {
      if (h.route === route && (flush || h.releaseAt <= now)) {
        this.reorderHeld.delete(k);
        due.push(h);
      }
    }
    for (const h of due) await this.forward(h.route, h.body, h.signature).catch(() => 0);
  }

  /** Forgets a finished batch and what is still held for it (its Temporal server is going away). */
  drop(route: BatchRoute): void {
    for (const [id, r] of this.routes) if (r === route) this.routes.delete(id);
    for (const h of this.held.filter((x) => x.route === route)) this.held.splice(this.held.indexOf(h), 1);
    for (const [k, h] of this.reorderHeld) if (h.route === route) this.reorderHeld.delete(k);
  }
}
