/**
 * Experiment 2: webhook receipt -> cycle paid. Cycles charged with `tok_pending_paid_*` get `pending_charge`; the
 * sandbox settles them after a short delay and sends `purchase.paid`, which the driver's receiver timestamps and
 * hands to the engine's ingress (verify, re-read, signal). "Paid" is the history instant of the engine's
 * BillingStatus=paid upsert (the minimal workflow: its completion). Open-loop Poisson arrivals, at idle and with a
 * closed-loop background load of engine cycles.
 */
import { round, percentiles, poissonGapMs, sleep, type Percentiles } from '../support/stats';
import { paidTimeline } from '../support/history';
import type { BenchStack } from '../support/stack';
import { closedLoop, startCycle, type CycleKind } from './cycles';

export interface LatencySeries {
  kind: CycleKind;
  load: 'idle' | 'load';
  /** Background cycles/s of the load while sampling (0 at idle). */
  backgroundCyclesPerSecond: number;
  receiptToPaidMs: Percentiles;
  receiptToSignaledMs: Percentiles;
  receiptToCompletedMs: Percentiles;
  /** Raw samples of receipt -> paid (ms), for the plots. */
  samples: number[];
  missing: number;
}

export interface LatencyOptions {
  ratePerSecond: number;
  seconds: number;
  loadConcurrency: number;
  kinds: CycleKind[];
}

let seq = 0;

async function sampleSeries(
  stack: BenchStack,
  kind: CycleKind,
  load: 'idle' | 'load',
  opts: LatencyOptions,
): Promise<LatencySeries> {
  stack.ingress.forward = true;
  const background =
    load === 'load' ? closedLoop(stack, 'engine', opts.loadConcurrency, `lat-bg-${stack.variant}`) : undefined;
  if (background) await sleep(2000);
  const bg0 = background?.completions.length ?? 0;
  const t0 = Date.now();
  const runs: Promise<string | undefined>[] = [];
  const end = t0 + opts.seconds * 1000;
  while (Date.now() < end) {
    const sub = `lat-${stack.variant}-${kind}-${load}-${++seq}`;
    runs.push(
      startCycle(stack, kind, sub, `tok_pending_paid_${sub}`)
        .then(async (h) => {
          await h.result();
          return h.workflowId;
        })
        .catch(() => undefined),
    );
    await sleep(poissonGapMs(opts.ratePerSecond));
  }
  const ids = await Promise.all(runs);
  const bgCps = background ? (background.completions.length - bg0) / ((Date.now() - t0) / 1000) : 0;
  await background?.stop();

  const toPaid: number[] = [];
  const toSignaled: number[] = [];
  const toCompleted: number[] = [];
  let missing = 0;
  for (const id of ids) {
    const receipt = id ? stack.ingress.paidReceipts.get(id) : undefined;
    if (!id || receipt === undefined) {
      missing++;
      continue;
    }
    const t = await paidTimeline(stack.client, id);
    const paidAt = kind === 'engine' ? (t.paidStatusAt ?? t.completedAt) : t.completedAt;
    if (paidAt === undefined) {
      missing++;
      continue;
    }
    toPaid.push(paidAt - receipt);
    if (t.signaledAt !== undefined) toSignaled.push(t.signaledAt - receipt);
    if (t.completedAt !== undefined) toCompleted.push(t.completedAt - receipt);
  }
  const r = (p: Percentiles): Percentiles => ({
    n: p.n,
    p50: round(p.p50, 1),
    p95: round(p.p95, 1),
    p99: round(p.p99, 1),
    max: round(p.max, 1),
  });
  return {
    kind,
    load,
    backgroundCyclesPerSecond: round(bgCps, 2),
    receiptToPaidMs: r(percentiles(toPaid)),
    receiptToSignaledMs: r(percentiles(toSignaled)),
    receiptToCompletedMs: r(percentiles(toCompleted)),
    samples: toPaid.map((x) => round(x, 1)),
    missing,
  };
}

export async function runLatency(
  stack: BenchStack,
  opts: LatencyOptions,
  log: (s: string) => void,
): Promise<LatencySeries[]> {
  const out: LatencySeries[] = [];
  for (const load of ['idle', 'load'] as const) {
    for (const kind of opts.kinds) {
      const s = await sampleSeries(stack, kind, load, opts);
      out.push(s);
      log(
        `  ${stack.variant} latency ${kind} ${load}: receipt->paid p50 ${s.receiptToPaidMs.p50} ms, p95 ${s.receiptToPaidMs.p95}, ` +
          `p99 ${s.receiptToPaidMs.p99} (n=${s.receiptToPaidMs.n}, missing ${s.missing}${load === 'load' ? `, background ${s.backgroundCyclesPerSecond} cycles/s` : ''})`,
      );
    }
  }
  stack.ingress.forward = false;
  return out;
}
