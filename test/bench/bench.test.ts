/**
 * `npm run bench` end to end at a tiny size: its own dev server, sandbox and worker, every experiment, the result
 * JSON, the summary and the plots. Checks shapes and sane values, never timings.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchResults } from '../../bench/results-schema';

const ROOT = resolve(__dirname, '..', '..');

describe('npm run bench (tiny configuration)', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  let results: BenchResults;

  beforeAll(() => {
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/run.ts',
        '--quick',
        '--no-pin',
        '--variants=memory',
        '--big-variant=memory',
        `--out-dir=${outDir}`,
        '--concurrency=4',
        '--warmup-seconds=1',
        '--window-seconds=2',
        '--pairs=1',
        '--cost-samples=2',
        '--latency-rate=4',
        '--latency-seconds=2',
        '--latency-load-concurrency=2',
        '--naive-seconds=1',
        '--naive-pool=4',
        '--start-n=20',
        '--start-concurrency=10',
        '--memory-checkpoints=10,20',
        '--storm-n=10',
        '--storm-rate=20',
        '--sandbox-rate-limit=50',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 280_000 },
    );
    if (run.status !== 0) throw new Error(`bench exited with ${run.status}:\n${run.stdout}\n${run.stderr}`);
    results = JSON.parse(readFileSync(join(outDir, 'quick.json'), 'utf8')) as BenchResults;
  }, 300_000);

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('compares the engine with the minimal workflow in alternating windows', () => {
    const t = results.variants[0]!.throughput!;
    expect(t.windows.map((w) => w.kind).sort()).toEqual(['engine', 'minimal']);
    for (const kind of ['engine', 'minimal'] as const) {
      expect(t[kind].cyclesPerSecond.median).toBeGreaterThan(0);
      expect(t[kind].cost.events).toBeGreaterThan(5);
      expect(t[kind].cost.stateTransitions).toBeGreaterThan(2);
      expect(t[kind].cost.activities).toBeGreaterThanOrEqual(2);
      // create, read-before-charge, charge: at least the three calls of a paid cycle
      expect(t[kind].gatewayCallsPerCycle).toBeGreaterThanOrEqual(3);
      expect(t[kind].cpuMsPerCycle.server).toBeGreaterThan(0);
      expect(t[kind].cpuMsPerCycle.worker).toBeGreaterThan(0);
    }
    expect(t.ratio.perPair).toHaveLength(1);
    expect(t.ratio.median).toBeGreaterThan(0);
  });

  it('measures webhook receipt to paid at idle and under load, for both workflows', () => {
    const series = results.variants[0]!.latency!;
    expect(series.map((s) => `${s.kind}/${s.load}`).sort()).toEqual([
      'engine/idle',
      'engine/load',
      'minimal/idle',
      'minimal/load',
    ]);
    for (const s of series) {
      expect(s.receiptToPaidMs.n).toBeGreaterThan(0);
      expect(s.samples).toHaveLength(s.receiptToPaidMs.n);
      expect(s.receiptToPaidMs.p50).toBeGreaterThan(0);
      expect(s.receiptToPaidMs.p99).toBeGreaterThanOrEqual(s.receiptToPaidMs.p50);
    }
  });

  it('runs the naive baseline and reports the price of durability', () => {
    const v = results.variants[0]!;
    expect(v.naive!.sequentialCyclesPerSecond).toBeGreaterThan(0);
    expect(v.naive!.pooledCyclesPerSecond).toBeGreaterThan(0);
    expect(v.durability!.engineOverNaivePooled).toBeGreaterThan(0);
  });

  it('starts subscriptions and no-op workflows, and reads worker memory at each checkpoint', () => {
    const p = results.big!.population!;
    expect(p.noop.failed).toBe(0);
    expect(p.subscriptions.failed).toBe(0);
    expect(p.n).toBe(20);
    expect(p.startRatio).toBeGreaterThan(0);
    expect(p.maxCachedWorkflows).toBeGreaterThan(0);
    expect(p.memory.map((m) => m.idleSubscriptions)).toEqual([0, 10, 20]);
    for (const m of p.memory) expect(m.rssMiB).toBeGreaterThan(m.heapUsedMiB);
  });

  it('clears a renewal storm: every due period charged once, against the rate-limit bound', () => {
    const s = results.big!.storm!;
    expect(s.timedOut).toBe(false);
    expect(s.charged).toBe(10);
    expect(s.activitiesPerCycle).toBeGreaterThanOrEqual(2);
    expect(s.boundSeconds).toBeGreaterThan(0);
    expect(s.clearSeconds).toBeGreaterThan(0);
    expect(s.rateLimited429).toBeGreaterThanOrEqual(0);
    expect(s.timeline.at(-1)![1]).toBe(10);
  });

  it('writes the summary and the plots', () => {
    const md = readFileSync(join(outDir, 'quick.md'), 'utf8');
    expect(md).toContain('engine ÷ minimal');
    expect(md).toContain('Renewal storm');
    for (const png of ['quick-throughput.png', 'quick-cpu.png', 'quick-latency.png', 'quick-storm.png']) {
      expect(existsSync(join(outDir, png))).toBe(true);
      expect(readFileSync(join(outDir, png)).subarray(1, 4).toString('latin1')).toBe('PNG');
    }
  });
});
