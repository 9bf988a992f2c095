/**
 * Experiment 5: the naive baseline — what billing costs without durability. A cron-like loop takes the subscriptions
 * due now and charges each with plain axios calls to the same sandbox (create the Purchase, read it, charge it: the
 * engine's three gateway calls), once one at a time and once through a pool. Nothing survives a crash, nothing
 * retries, nothing is recorded: the difference to the engine is the price of durability.
 */
import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { round } from '../support/stats';
import type { BenchStack } from '../support/stack';

export interface NaiveResult {
  sequentialCyclesPerSecond: number;
  pooledCyclesPerSecond: number;
  pool: number;
  failures: number;
}

async function chargeDueSubscription(http: AxiosInstance, subscriptionId: string): Promise<void> {
  const created = await http.post<{ id: string }>('/purchases/', {
    brand_id: '00000000-0000-4000-8000-000000000001',
    client: { email: `${subscriptionId}@example.com` },
    reference: `naive:${subscriptionId}`,
    purchase: { currency: 'NGN', products: [{ name: 'Pro plan', price: 500_000, quantity: '1' }] },
  });
  await http.get(`/purchases/${created.data.id}/`);
  await http.post(`/purchases/${created.data.id}/charge/`, { recurring_token: `tok_success_${subscriptionId}` });
}

/** Runs the "cron tick" for `seconds`: an endless list of due subscriptions, `pool` charged at a time. */
async function cronTick(
  client: AxiosInstance,
  pool: number,
  seconds: number,
  tag: string,
): Promise<{ done: number; failed: number; elapsed: number }> {
  let next = 0;
  let done = 0;
  let failed = 0;
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  const lane = async (): Promise<void> => {
    while (Date.now() < end) {
      const id = `${tag}-${next++}`;
      try {
        await chargeDueSubscription(client, id);
        done++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: pool }, () => lane()));
  return { done, failed, elapsed: (Date.now() - t0) / 1000 };
}

export async function runNaive(
  stack: BenchStack,
  opts: { seconds: number; pool: number },
  log: (s: string) => void,
): Promise<NaiveResult> {
  const client = axios.create({
    baseURL: stack.qorepayBaseUrl,
    headers: { Authorization: `Bearer ${stack.qorepayApiKey}` },
    httpAgent: new http.Agent({ keepAlive: true }),
    timeout: 10_000,
  });
  const seq = await cronTick(client, 1, opts.seconds, `naive-seq-${stack.variant}`);
  const pooled = await cronTick(client, opts.pool, opts.seconds, `naive-pool-${stack.variant}`);
  const r: NaiveResult = {
    sequentialCyclesPerSecond: round(seq.done / seq.elapsed, 2),
    pooledCyclesPerSecond: round(pooled.done / pooled.elapsed, 2),
    pool: opts.pool,
    failures: seq.failed + pooled.failed,
  };
  log(
    `  ${stack.variant} naive cron loop: sequential ${r.sequentialCyclesPerSecond} cycles/s, pool of ${opts.pool} ${r.pooledCyclesPerSecond} cycles/s`,
  );
  return r;
}
