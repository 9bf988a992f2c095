/**
 * Webhook delivery as CHIP does it: only a 2xx counts; a timeout is a failure; attempt n goes out at
 * `retryDelaysMs[n]` after the event was first scheduled (CHIP: 0, 2 m, 8 m, 26 m, 80 m, ~4 h, ~12 h, ~36 h);
 * nothing after the last attempt. Events for one object (one target URL) are delivered in order: a later event
 * waits until the earlier one has been delivered or given up. Test options: `duplicate` (each event twice),
 * `reorder` (per-object ordering off, and each event is held until the next event for the same object overtakes
 * it), `delayMs` (extra delay before every attempt).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/logger';

export const CHIP_RETRY_DELAYS_MS: readonly number[] = [0, 2, 8, 26, 80, 242, 728, 2186].map((m) => m * 60_000);

export interface WebhookDeliveryOptions {
  duplicate?: boolean;
  reorder?: boolean;
  delayMs?: number;
  /** In reorder mode, how long a lone event waits for a later one to overtake it (default 1000 ms). */
  reorderHoldMs?: number;
}

export interface DeliveryTarget {
  url: string;
  /** Signs the exact bytes sent (base64 RSA-SHA256); called per attempt, so key rotation applies to retries. */
  sign: (body: Buffer) => string;
  /** Account webhook id, when the target is a registered webhook. */
  webhookId?: string;
}

export interface DeliveryAttempt {
  deliveryId: string;
  eventId: string;
  eventType: string;
  objectId: string;
  url: string;
  /** 1-based attempt number. */
  attempt: number;
  at: string;
  status?: number;
  error?: string;
  delivered: boolean;
  body: string;
  signature: string;
}

interface Job {
  deliveryId: string;
  eventId: string;
  eventType: string;
  objectId: string;
  target: DeliveryTarget;
  body: Buffer;
  queueKey: string;
}

export class WebhookDispatcher {
  private readonly log: DeliveryAttempt[] = [];
  private readonly queues = new Map<string, Job[]>();
  private readonly running = new Set<string>();
  private readonly held = new Map<string, { group: Job[]; timer: NodeJS.Timeout }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly wakers = new Set<() => void>();
  private readonly controllers = new Set<AbortController>();
  private idleWaiters: Array<() => void> = [];
  private pending = 0;
  private closed = false;
  options: WebhookDeliveryOptions;

  constructor(
    private readonly retryDelaysMs: readonly number[],
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    options: WebhookDeliveryOptions = {},
  ) {
    this.options = { ...options };
  }

  attempts(): DeliveryAttempt[] {
    return this.log.map((a) => ({ ...a }));
  }

  /** Queues one event for one target. */
  enqueue(target: DeliveryTarget, eventType: string, objectId: string, payload: Record<string, unknown>): void {
    if (this.closed) return;
    const eventId = randomUUID();
    const body = Buffer.from(JSON.stringify({ ...payload, event_type: eventType }), 'utf8');
    const copies = this.options.duplicate ? 2 : 1;
    const group: Job[] = [];
    for (let i = 0; i < copies; i++) {
      group.push({
        deliveryId: randomUUID(),
        eventId,
        eventType,
        objectId,
        target,
        body,
        queueKey: `${target.url}|${objectId}`,
      });
    }
    this.pending += group.length;
    if (this.options.reorder) this.enqueueReordered(group);
    else for (const job of group) this.enqueueOrdered(job);
  }

  /** Resolves when nothing is queued, held or in flight. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
    for (const c of this.controllers) c.abort();
    for (const wake of this.wakers) wake();
    this.queues.clear();
    this.pending = 0;
    this.settleIdle();
  }

  private enqueueOrdered(job: Job): void {
    const queue = this.queues.get(job.queueKey) ?? [];
    queue.push(job);
    this.queues.set(job.queueKey, queue);
    void this.pump(job.queueKey);
  }

  /**
   * Reorder mode: an event is held until the next event for the same object arrives; that one goes first and the
   * held one follows after its first attempt. A lone event is released after `reorderHoldMs`.
   */
  private enqueueReordered(group: Job[]): void {
    const first = group[0];
    if (!first) return;
    const earlier = this.held.get(first.queueKey);
    if (earlier) {
      clearTimeout(earlier.timer);
      this.timers.delete(earlier.timer);
      this.held.delete(first.queueKey);
      this.deliverGroup(group, () => this.deliverGroup(earlier.group));
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.held.delete(first.queueKey);
      this.deliverGroup(group);
    }, this.options.reorderHoldMs ?? 1000);
    this.timers.add(timer);
    this.held.set(first.queueKey, { group, timer });
  }

  /** Delivers the copies of one event independently, the second copy after the first's first attempt. */
  private deliverGroup(group: Job[], afterFirst?: () => void): void {
    const [head, ...rest] = group;
    if (!head) return;
    void this.deliver(head, () => {
      for (const job of rest) void this.deliver(job);
      afterFirst?.();
    });
  }

  private async pump(queueKey: string): Promise<void> {
    if (this.running.has(queueKey)) return;
    this.running.add(queueKey);
    try {
      for (;;) {
        const queue = this.queues.get(queueKey);
        const job = queue?.[0];
        if (!queue || !job || this.closed) break;
        await this.deliver(job);
        queue.shift();
        if (queue.length === 0) this.queues.delete(queueKey);
      }
    } finally {
      this.running.delete(queueKey);
    }
  }

  /** Runs every attempt of one job until a 2xx or the schedule ends. `afterFirst` runs after the first attempt. */
  private async deliver(job: Job, afterFirst?: () => void): Promise<void> {
    const scheduledAt = Date.now();
    let firstDone = false;
    const first = (): void => {
      if (firstDone) return;
      firstDone = true;
      afterFirst?.();
    };
    try {
      for (let i = 0; i < this.retryDelaysMs.length && !this.closed; i++) {
        const dueAt = scheduledAt + (this.retryDelaysMs[i] ?? 0) + (this.options.delayMs ?? 0);
        await this.sleep(dueAt - Date.now());
        if (this.closed) return;
        const ok = await this.attempt(job, i + 1);
        first();
        if (ok) return;
      }
      if (!this.closed) {
        this.logger.warn({ url: job.target.url, eventType: job.eventType }, 'qorepay sandbox: webhook given up');
      }
    } finally {
      if (!this.closed) first();
      if (!this.closed) {
        this.pending = Math.max(0, this.pending - 1);
        this.settleIdle();
      }
    }
  }

  private async attempt(job: Job, attempt: number): Promise<boolean> {
    const signature = job.target.sign(job.body);
    const record: DeliveryAttempt = {
      deliveryId: job.deliveryId,
      eventId: job.eventId,
      eventType: job.eventType,
      objectId: job.objectId,
      url: job.target.url,
      attempt,
      at: new Date().toISOString(),
      delivered: false,
      body: job.body.toString('utf8'),
      signature,
    };
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const res = await fetch(job.target.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Signature': signature },
        body: job.body,
        signal: controller.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      record.status = res.status;
      record.delivered = res.status >= 200 && res.status < 300;
    } catch (e) {
      record.error = controller.signal.aborted ? 'timeout' : e instanceof Error ? e.message : 'network_error';
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
    if (!this.closed) this.log.push(record);
    this.logger.debug(
      { url: job.target.url, eventType: job.eventType, attempt, status: record.status, error: record.error },
      'qorepay sandbox: webhook attempt',
    );
    return record.delivered;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.timers.add(timer);
      this.wakers.add(wake);
    });
  }

  private settleIdle(): void {
    if (this.pending !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
