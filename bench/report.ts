/** The Markdown summary of one benchmark run (bench/results/<mode>.md). */
import type { BenchResults } from './results-schema';

const f = (x: number | undefined, digits = 1): string =>
  x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);

export function renderSummary(r: BenchResults, plots: string[]): string {
  const out: string[] = [];
  out.push(`# Benchmark (${r.mode}) — ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`);
  out.push('');
  out.push(
    `Machine: ${r.machine.cpuModel}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.os}; ` +
      `load average at start ${r.machine.loadAverageAtStart.join(' / ')}. Node ${r.versions.node}, ` +
      `Temporal SDK ${r.versions.temporalSdk}, ${r.versions.temporalCli.split('\n')[0]}, commit ${r.versions.commit}. ` +
      `Run took ${f(r.durationSeconds, 0)} s. Shared machine: compare ratios within a run, not absolute numbers across runs.`,
  );
  out.push('');
  for (const v of r.variants) {
    out.push(`## Dev server ${v.variant === 'memory' ? 'in memory' : 'on a SQLite file'}`);
    out.push('');
    const t = v.throughput;
    if (t) {
      out.push(
        `Closed loop, ${t.concurrency} cycles open, ${t.windowSeconds} s windows alternating engine and minimal ` +
          `(${t.windows.length / 2} pairs), every cycle paid at once (\`tok_success_*\`).`,
      );
      out.push('');
      out.push('| | engine | minimal | engine ÷ minimal |');
      out.push('|---|---|---|---|');
      out.push(
        `| cycles/s, median [min, max] | ${f(t.engine.cyclesPerSecond.median)} [${f(t.engine.cyclesPerSecond.min)}, ${f(t.engine.cyclesPerSecond.max)}] ` +
          `| ${f(t.minimal.cyclesPerSecond.median)} [${f(t.minimal.cyclesPerSecond.min)}, ${f(t.minimal.cyclesPerSecond.max)}] ` +
          `| **${f(t.ratio.median, 2)}** [${f(t.ratio.min, 2)}, ${f(t.ratio.max, 2)}] |`,
      );
      out.push(
        `| history events / cycle | ${t.engine.cost.events} | ${t.minimal.cost.events} | +${t.engine.cost.events - t.minimal.cost.events} |`,
      );
      out.push(
        `| state transitions / cycle | ${t.engine.cost.stateTransitions} | ${t.minimal.cost.stateTransitions} | +${t.engine.cost.stateTransitions - t.minimal.cost.stateTransitions} |`,
      );
      out.push(`| activities / cycle | ${t.engine.cost.activities} | ${t.minimal.cost.activities} | |`);
      out.push(
        `| QorePay calls / cycle | ${f(t.engine.gatewayCallsPerCycle, 2)} | ${f(t.minimal.gatewayCallsPerCycle, 2)} | |`,
      );
      for (const role of ['server', 'worker', 'sandbox', 'driver', 'total'] as const) {
        const e = t.engine.cpuMsPerCycle[role];
        const m = t.minimal.cpuMsPerCycle[role];
        out.push(`| CPU ms / cycle, ${role} | ${f(e, 2)} | ${f(m, 2)} | ${f(e / m, 2)} |`);
      }
      out.push('');
    }
    if (v.latency?.length) {
      out.push('Webhook receipt → cycle paid (ms; engine: its BillingStatus=paid upsert, minimal: its completion):');
      out.push('');
      out.push('| workflow | load | n | p50 | p95 | p99 | max | receipt → signal p50 | receipt → completed p50 |');
      out.push('|---|---|---|---|---|---|---|---|---|');
      for (const s of v.latency) {
        const load = s.load === 'idle' ? 'idle' : `load (${f(s.backgroundCyclesPerSecond)} cycles/s)`;
        out.push(
          `| ${s.kind} | ${load} | ${s.receiptToPaidMs.n} | ${f(s.receiptToPaidMs.p50)} | ${f(s.receiptToPaidMs.p95)} | ` +
            `${f(s.receiptToPaidMs.p99)} | ${f(s.receiptToPaidMs.max)} | ${f(s.receiptToSignaledMs.p50)} | ${f(s.receiptToCompletedMs.p50)} |`,
        );
      }
      out.push('');
    }
    if (v.naive) {
      out.push(
        `Naive cron loop (axios, no durability): sequential ${f(v.naive.sequentialCyclesPerSecond)} cycles/s, ` +
          `pool of ${v.naive.pool} ${f(v.naive.pooledCyclesPerSecond)} cycles/s` +
          (v.durability
            ? `; engine ÷ naive pooled **${f(v.durability.engineOverNaivePooled, 3)}**, engine ÷ naive sequential ${f(v.durability.engineOverNaiveSequential, 2)}.`
            : '.'),
      );
      out.push('');
    }
  }
  const b = r.big;
  if (b?.population) {
    const p = b.population;
    out.push(
      `## Starting subscriptions and idle memory (dev server ${b.variant === 'memory' ? 'in memory' : 'on a SQLite file'})`,
    );
    out.push('');
    out.push(
      `${p.noop.n} no-op starts: ${f(p.noop.startSeconds)} s (${f(p.noop.startsPerSecond)}/s; all completed after ${f(p.noop.readySeconds)} s). ` +
        `${p.n} subscriptions through \`BillingClient.createSubscription\` (start + first-state query): ${f(p.subscriptions.startSeconds)} s ` +
        `(${f(p.subscriptions.startsPerSecond)}/s); per start **${f(p.startRatio, 2)}×** a no-op start. ${p.concurrency} in flight.`,
    );
    out.push('');
    out.push(`Worker memory after a full GC, shipped cache size (maxCachedWorkflows ${p.maxCachedWorkflows}):`);
    out.push('');
    out.push('| idle subscriptions | RSS MiB | heap used MiB | external MiB |');
    out.push('|---|---|---|---|');
    for (const m of p.memory)
      out.push(`| ${m.idleSubscriptions} | ${f(m.rssMiB)} | ${f(m.heapUsedMiB)} | ${f(m.externalMiB)} |`);
    out.push('');
  }
  if (b?.storm) {
    const s = b.storm;
    out.push('## Renewal storm');
    out.push('');
    out.push(
      `${s.n} monthly subscriptions due at ${s.dueAt} (jitter ${s.jitterMinutes} min); task-queue activity rate limit ` +
        `${s.activitiesPerSecond}/s; sandbox limit ${s.sandboxRateLimitPerSecond ?? 'none'} requests/s.`,
    );
    out.push('');
    out.push(
      '| charged | first charge after due | cleared after due | bound (N × activities ÷ rate) | cleared ÷ bound | cycles/s | QorePay calls / cycle | 429s | created late |',
    );
    out.push('|---|---|---|---|---|---|---|---|---|');
    out.push(
      `| ${s.charged}/${s.n}${s.timedOut ? ' (timed out)' : ''} | ${f(s.firstChargeAfterDueSeconds)} s | **${f(s.clearSeconds)} s** | ` +
        `${f(s.boundSeconds)} s (${s.activitiesPerCycle} activities/cycle) | ${f(s.clearOverBound, 2)} | ${f(s.cyclesPerSecond)} | ` +
        `${f(s.gatewayCallsPerCycle, 2)} | ${s.rateLimited429} | ${s.createdLate} |`,
    );
    out.push('');
    out.push(
      `CPU ms per storm cycle: server ${f(s.cpuMsPerCycle.server, 2)}, worker ${f(s.cpuMsPerCycle.worker, 2)}, ` +
        `sandbox ${f(s.cpuMsPerCycle.sandbox, 2)}, driver ${f(s.cpuMsPerCycle.driver, 2)}.`,
    );
    out.push('');
  }
  if (plots.length) {
    out.push('## Plots');
    out.push('');
    for (const p of plots) out.push(`![${p}](${p})`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
