/**
 * `npm run chaos`: the seeded chaos suite. Prints its seed first; `CHAOS_SEED=<seed> npm run chaos` replays the same
 * plan (subscriptions, scenarios, operations, faults, kill times). Exits non-zero on any violation.
 *
 *   npm run chaos -- [--mode fast|process] [--count N] [--seed N] [--conditions SHARE]
 *     fast:    [--batch N] [--parallel N] [--days N]   (time-skipping server, a simulated year by default)
 *     process: [--minutes N] [--throttle PER_SECOND]   (dev server, API, sandbox and workers as processes)
 *   --conditions: share of subscriptions given one of issue 20's conditions (plan.ts CHAOS_CONDITIONS; default 0.35)
 *   --throttle: the workers' task-queue activity rate while the chaos runs (default 2; 0 = not throttled)
 *   env: CHAOS_SEED, CHAOS_MODE, CHAOS_COUNT, CHAOS_BATCH, CHAOS_PARALLEL, CHAOS_DAYS, CHAOS_MINUTES,
 *        CHAOS_CONDITIONS, CHAOS_THROTTLE
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { runFastChaos, type ConditionCounts, type FastResult } from './fast';
import { runProcessChaos, printProcess } from './process';
import { newSeed } from './random';

// Alerts are expected in a chaos run (they are counted, not printed); Temporal's own warnings still show.
Runtime.install({
  logger: new DefaultLogger('WARN', (entry) => {
    if (entry.level === 'WARN' || (entry.level === 'ERROR' && !entry.message.startsWith('ALERT ')))
      process.stderr.write(`[${entry.level}] ${entry.message}\n`);
  }),
  telemetryOptions: { logging: { forward: {}, filter: 'ERROR' } },
});

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (v: string | undefined, def: number): number => (v !== undefined && v !== '' ? Number(v) : def);

export function printFast(r: FastResult, seed: number, log: (l: string) => void): void {
  log(
    `fast mode: seed ${seed}: ${r.subscriptions} subscriptions, ${r.cycles} cycles (${r.paidCycles} paid), ` +
      `${r.charges} gateway charge entries, ${r.ops} merchant operations (${r.opsOk} acknowledged), ` +
      `webhooks: ${r.faults.delivered} delivered, ${r.faults.duplicated} duplicated, ${r.faults.dropped} dropped, ` +
      `${r.faults.delayed} delayed, ${r.faults.reordered} reordered; ` +
      `${r.notes.pendingAtGatewayAfterStop} pending-at-gateway resolutions after a cancel/pause, ` +
      `${r.notes.alertedDiscrepancies} alerted discrepancies, ${r.notes.openAlerted} open cycles alerted, ` +
      `${r.notes.heldByPause} held by pause; ${r.stalledBatches} batches re-run after the test server stalled; ` +
      `${r.violations.length} violations; ${(r.ms / 1000).toFixed(1)} s`,
  );
  printConditions(r.conditions, log);
  for (const { violation: v, trail } of r.violations) {
    log(`VIOLATION ${v.kind} seed=${seed} subscription=${v.subscriptionId} ids=${v.ids.join(',')}: ${v.detail}`);
    log(trail);
  }
}

/** One line per condition: subscriptions, cycles (paid), gateway charge entries, gateway refunds, violations. */
export function printConditions(c: ConditionCounts, log: (l: string) => void): void {
  for (const [name, row] of Object.entries(c))
    if (row.subscriptions > 0)
      log(
        `  ${name}: ${row.subscriptions} subscriptions, ${row.cycles} cycles (${row.paidCycles} paid), ` +
          `${row.charges} charge entries, ${row.refunds} gateway refunds, ${row.opsOk}/${row.ops} operations ` +
          `acknowledged (${row.stopsPending} stop answers not yet in effect), ${row.violations} violations`,
      );
}

async function main(): Promise<void> {
  const seed = num(arg('seed') ?? process.env.CHAOS_SEED, newSeed());
  const mode = arg('mode') ?? process.env.CHAOS_MODE ?? 'fast';
  const log = (l: string) => process.stdout.write(`${l}\n`);
  log(`chaos seed ${seed} (replay: CHAOS_SEED=${seed} npm run chaos -- --mode ${mode})`);
  let violations = 0;
  const throttle = num(arg('throttle') ?? process.env.CHAOS_THROTTLE, 2);
  if (mode === 'fast') {
    const r = await runFastChaos({
      seed,
      count: num(arg('count') ?? process.env.CHAOS_COUNT, 300),
      batchSize: num(arg('batch') ?? process.env.CHAOS_BATCH, 50),
      parallel: num(arg('parallel') ?? process.env.CHAOS_PARALLEL, 1),
      days: num(arg('days') ?? process.env.CHAOS_DAYS, 365),
      conditionShare: num(arg('conditions') ?? process.env.CHAOS_CONDITIONS, 0.35),
      runId: `cf${seed.toString(36)}`,
      log,
    });
    printFast(r, seed, log);
    violations += r.violations.length;
  }
  if (mode === 'process') {
    const r = await runProcessChaos({
      seed,
      count: num(arg('count') ?? process.env.CHAOS_COUNT, 40),
      minutes: num(arg('minutes') ?? process.env.CHAOS_MINUTES, 10),
      conditionShare: num(arg('conditions') ?? process.env.CHAOS_CONDITIONS, 0.35),
      ...(throttle > 0 ? { throttlePerSecond: throttle } : {}),
      runId: `cp${seed.toString(36)}`,
      log,
    });
    printProcess(r, seed, log);
    violations += r.violations.length;
  } else if (mode !== 'fast') {
    log(`mode ${mode}: unknown (fast or process)`);
    process.exit(2);
  }
  log(violations === 0 ? 'chaos: no violations' : `chaos: ${violations} violations (seed ${seed})`);
  process.exit(violations === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
