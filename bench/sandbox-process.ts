/**
 * The benchmark's QorePay sandbox process (its own process, so its CPU is measured apart). Options come as JSON in
 * BENCH_SANDBOX_OPTIONS; over IPC it reports charge counts and 429s, and switches its webhook target.
 */
import { startQorePaySandbox } from '../src/sandbox/qorepay';

export interface SandboxProcessOptions {
  apiKey: string;
  webhookUrl: string;
  pendingResolveDelayMs: number;
  rateLimit?: { requestsPerSecond: number; burst?: number };
}

export type SandboxRequest = { type: 'stats'; referencePrefix?: string } | { type: 'stop' };
export type SandboxReply =
  | { type: 'ready'; baseUrl: string; port: number }
  | {
      type: 'stats';
      /** Successful charges (ledger `success`) whose reference starts with the prefix. */
      successfulCharges: number;
      /** ISO instants of the first and last of them. */
      firstChargeAt?: string;
      lastChargeAt?: string;
      rateLimited: number;
      ledgerEntries: number;
    }
  | { type: 'error'; message: string };

const send = (msg: SandboxReply): void => {
  process.send?.(msg);
};

async function main(): Promise<void> {
  const opts = JSON.parse(process.env.BENCH_SANDBOX_OPTIONS ?? '{}') as SandboxProcessOptions;
  let rateLimited = 0;
  const sandbox = await startQorePaySandbox({
    apiKey: opts.apiKey,
    webhookUrls: [opts.webhookUrl],
    webhookTimeoutMs: 5_000,
    pendingResolveDelayMs: opts.pendingResolveDelayMs,
    ...(opts.rateLimit
      ? {
          rateLimit: {
            ...opts.rateLimit,
            onLimited: () => {
              rateLimited++;
            },
          },
        }
      : {}),
  });
  process.on('message', (msg: SandboxRequest) => {
    if (msg.type === 'stats') {
      const all = sandbox.ledger();
      let n = 0;
      let first: string | undefined;
      let last: string | undefined;
      for (const e of all) {
        if (e.outcome !== 'success' || !(e.reference ?? '').startsWith(msg.referencePrefix ?? '')) continue;
        n++;
        if (first === undefined || e.at < first) first = e.at;
        if (last === undefined || e.at > last) last = e.at;
      }
      send({
        type: 'stats',
        successfulCharges: n,
        rateLimited,
        ledgerEntries: all.length,
        ...(first ? { firstChargeAt: first } : {}),
        ...(last ? { lastChargeAt: last } : {}),
      });
    } else if (msg.type === 'stop') {
      void sandbox.close().then(() => process.exit(0));
    }
  });
  process.once('disconnect', () => void sandbox.close().then(() => process.exit(0)));
  send({ type: 'ready', baseUrl: sandbox.baseUrl, port: Number(new URL(sandbox.origin).port) });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
