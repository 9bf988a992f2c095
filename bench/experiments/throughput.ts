/**
 * Experiment 1: cycles/s of the engine's billing cycle vs the minimal workflow doing the same gateway work, in
 * alternating windows under a closed-loop load; CPU seconds per cycle of each process; history events and state
 * transitions per cycle; QorePay calls per cycle.
 */
import { cpuDelta, cpuSnapshot, type ProcessRole } from '../support/proc';
import { executionCost, type ExecutionCost } from '../support/history';
import { median, round, sleep, spread, type Spread } from '../support/stats';
import type { BenchStack } from '../support/stack';
import { closedLoop, type CycleKind } from './cycles';

export interface ThroughputWindow {
  kind: CycleKind;
  pair: number;
  seconds: number;
  cycles: number;
  cyclesPerSecond: number;
  cpuSecondsPerCycle: Record<ProcessRole, number>;
  /** Share of one core each process used during the window. */
  cpuShare: Record<ProcessRole, number>;
}

export interface KindSummary {
  cyclesPerSecond: Spread;
  cpuMsPerCycle: Record<ProcessRole | 'total', number>;
  cost: ExecutionCost;
  gatewayCallsPerCycle: number;
}

export interface ThroughputResult {
  concurrency: number;
  windowSeconds: number;
  warmupSeconds: number;
  windows: ThroughputWindow[];
  engine: KindSummary;
  minimal: KindSummary;
  /** Per pair: engine cycles/s ÷ minimal cycles/s. */
  ratio: Spread & { perPair: number[] };
  failures: number;
}

export interface ThroughputOptions {
  concurrency: number;
  windowSeconds: number;
  warmupSeconds: number;
  pairs: number;
  costSamples: number;
}

async function gatewayCalls(stack: BenchStack): Promise<number> {
  const c = await stack.worker.request({ type: 'counters' });
  return Object.values(c.gatewayCalls).reduce((a, b) => a + b, 0);
}

export async function runThroughput(
  stack: BenchStack,
  opts: ThroughputOptions,
  log: (s: string) => void,
): Promise<ThroughputResult> {
  stack.ingress.forward = false;
  const windows: ThroughputWindow[] = [];
  const idsByKind: Record<CycleKind, string[]> = { engine: [], minimal: [] };
  const callsByKind: Record<CycleKind, { calls: number; cycles: number }> = {
    engine: { calls: 0, cycles: 0 },
    minimal: { calls: 0, cycles: 0 },
  };
  let failures = 0;

  // Warm-up: both kinds, not measured (bundles, JIT, caches, the server's first tables).
  for (const kind of ['minimal', 'engine'] as const) {
    const warm = closedLoop(stack, kind, opts.concurrency, `warm-${stack.variant}`);
    await sleep((opts.warmupSeconds * 1000) / 2);
    await warm.stop();
  }

  for (let pair = 0; pair < opts.pairs; pair++) {
    // Alternate which kind goes first so a drift in machine load does not favour one of them.
    const order: CycleKind[] = pair % 2 === 0 ? ['engine', 'minimal'] : ['minimal', 'engine'];
    for (const kind of order) {
      const calls0 = await gatewayCalls(stack);
      const loop = closedLoop(stack, kind, opts.concurrency, `tp-${stack.variant}-${pair}`);
      await sleep(2000); // reach steady state before the window opens
      const startCount = loop.completions.length;
      const cpu0 = cpuSnapshot(stack.pids());
      const t0 = Date.now();
      await sleep(opts.windowSeconds * 1000);
      const cpu1 = cpuSnapshot(stack.pids());
      const t1 = Date.now();
      const cycles = loop.completions.length - startCount;
      await loop.stop();
      // Calls per cycle over the loop's whole life (started and drained), so cycles in flight at the window's
      // edges do not skew it.
      const calls1 = await gatewayCalls(stack);
      failures += loop.failures;
      callsByKind[kind].calls += calls1 - calls0;
      callsByKind[kind].cycles += loop.completions.length;
      idsByKind[kind].push(...loop.completedIds.slice(-opts.costSamples));
      const seconds = (t1 - t0) / 1000;
      const d = cpuDelta(cpu0, cpu1);
      const per = (x: number): number => (cycles > 0 ? x / cycles : Number.NaN);
      const w: ThroughputWindow = {
        kind,
        pair,
        seconds: round(seconds, 3),
        cycles,
        cyclesPerSecond: round(cycles / seconds, 3),
        cpuSecondsPerCycle: {
          server: per(d.server),
          worker: per(d.worker),
          sandbox: per(d.sandbox),
          driver: per(d.driver),
        },
        cpuShare: {
          server: round(d.server / seconds, 3),
          worker: round(d.worker / seconds, 3),
          sandbox: round(d.sandbox / seconds, 3),
          driver: round(d.driver / seconds, 3),
        },
      };
      windows.push(w);
      log(
        `  ${stack.variant} pair ${pair + 1}/${opts.pairs} ${kind.padEnd(7)} ${w.cyclesPerSecond.toFixed(1)} cycles/s ` +
          `(cpu share: server ${w.cpuShare.server}, worker ${w.cpuShare.worker}, sandbox ${w.cpuShare.sandbox}, driver ${w.cpuShare.driver})`,
      );
    }
  }

  const summarize = async (kind: CycleKind): Promise<KindSummary> => {
    const ws = windows.filter((w) => w.kind === kind);
    const cpu = (role: ProcessRole): number => round(median(ws.map((w) => w.cpuSecondsPerCycle[role] * 1000)), 3);
    const costs = await Promise.all(
      idsByKind[kind].slice(-opts.costSamples).map((id) => executionCost(stack.client, id)),
    );
    const cpuMsPerCycle = {
      server: cpu('server'),
      worker: cpu('worker'),
      sandbox: cpu('sandbox'),
      driver: cpu('driver'),
      total: 0,
    };
    cpuMsPerCycle.total = round(
      cpuMsPerCycle.server + cpuMsPerCycle.worker + cpuMsPerCycle.sandbox + cpuMsPerCycle.driver,
      3,
    );
    return {
      cyclesPerSecond: spread(ws.map((w) => w.cyclesPerSecond)),
      cpuMsPerCycle,
      cost: {
        events: median(costs.map((c) => c.events)),
        stateTransitions: median(costs.map((c) => c.stateTransitions)),
        activities: median(costs.map((c) => c.activities)),
      },
      gatewayCallsPerCycle: round(callsByKind[kind].calls / Math.max(1, callsByKind[kind].cycles), 3),
    };
  };

  const perPair: number[] = [];
  for (let pair = 0; pair < opts.pairs; pair++) {
    const e = windows.find((w) => w.pair === pair && w.kind === 'engine');
    const m = windows.find((w) => w.pair === pair && w.kind === 'minimal');
    if (e && m && m.cyclesPerSecond > 0) perPair.push(round(e.cyclesPerSecond / m.cyclesPerSecond, 3));
  }
  return {
    concurrency: opts.concurrency,
    windowSeconds: opts.windowSeconds,
    warmupSeconds: opts.warmupSeconds,
    windows,
    engine: await summarize('engine'),
    minimal: await summarize('minimal'),
    ratio: { ...spread(perPair), perPair },
    failures,
  };
}
