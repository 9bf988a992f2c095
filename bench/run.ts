/**
 * `npm run bench`: the benchmark, one command. Per dev-server variant (in memory, SQLite file) it starts its own
 * Temporal dev server, QorePay sandbox and billing worker on free loopback ports, runs the experiments, and stops
 * them; results go to `<out-dir>/<mode>.json` and `<mode>.md`, plots to `<out-dir>/<mode>-*.png`.
 * See bench/README.md for what each figure means, and bench/options.ts for the knobs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveTemporalBinary } from '../src/dev/temporal-binaries';
import { createLogger } from '../src/logger';
import { runLatency } from './experiments/latency';
import { runNaive } from './experiments/naive';
import { runPopulation } from './experiments/population';
import { runStorm } from './experiments/storm';
import { runThroughput } from './experiments/throughput';
import { startStack, type BenchStack } from './support/stack';
import { round } from './support/stats';
import { parseBenchOptions, type BenchOptions } from './options';
import { renderPlots } from './plot';
import { renderSummary } from './report';
import type { BenchResults, VariantResults } from './results-schema';

const ROOT = resolve(__dirname, '..');

function versions(): BenchResults['versions'] {
  const sdk = (
    JSON.parse(readFileSync(join(ROOT, 'node_modules/@temporalio/worker/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  let cli = 'unknown';
  let commit = 'unknown';
  try {
    const bin = resolveTemporalBinary('cli', process.env, { allowDownload: false });
    if (bin.source !== 'download') cli = execFileSync(bin.path, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as unknown
  }
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return { node: process.version, temporalSdk: sdk, temporalCli: cli, commit };
}

export async function runBench(opts: BenchOptions, log: (s: string) => void = console.log): Promise<BenchResults> {
  const started = Date.now();
  const logger = createLogger({ level: 'error', name: 'bench' });
  const has = (x: string): boolean => opts.only.includes(x);
  const results: BenchResults = {
    schema: 1,
    mode: opts.mode,
    startedAt: new Date(started).toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    machine: {
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      os: `${process.platform} ${release()}`,
      loadAverageAtStart: loadavg().map((x) => round(x, 2)),
    },
    versions: versions(),
    options: opts,
    variants: [],
  };

  const outDir = resolve(ROOT, opts.outDir);
  mkdirSync(outDir, { recursive: true });
  // Written after every experiment too, so an interrupted or overlong run keeps what it measured.
  const save = (): void => writeFileSync(join(outDir, `${opts.mode}.json`), `${JSON.stringify(results, null, 2)}\n`);

  let current: BenchStack | undefined;
  const onSignal = (): void => {
    log('interrupted: stopping the benchmark processes');
    // Load loops still in flight fail once their connection closes; nothing is left to report but a clean stop.
    process.on('uncaughtException', () => undefined);
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const perVariant = ['throughput', 'latency', 'naive'].some(has);
    for (const variant of perVariant ? opts.variants : []) {
      log(`[${variant}] starting dev server, sandbox and worker`);
      current = await startStack({ variant, pin: opts.pin, pendingResolveDelayMs: opts.pendingResolveMs, logger });
      const stack = current;
      const v: VariantResults = { variant };
      results.variants.push(v);
      try {
        if (has('throughput')) {
          v.throughput = await runThroughput(
            stack,
            {
              concurrency: opts.concurrency,
              windowSeconds: opts.windowSeconds,
              warmupSeconds: opts.warmupSeconds,
              pairs: opts.pairs,
              costSamples: opts.costSamples,
            },
            log,
          );
        }
        if (has('latency')) {
          v.latency = await runLatency(
            stack,
            {
              ratePerSecond: opts.latencyRate,
              seconds: opts.latencySeconds,
              loadConcurrency: opts.latencyLoadConcurrency,
              kinds: ['engine', 'minimal'],
            },
            log,
          );
        }
        if (has('naive')) v.naive = await runNaive(stack, { seconds: opts.naiveSeconds, pool: opts.naivePool }, log);
        save();
        if (v.throughput && v.naive) {
          const engine = v.throughput.engine.cyclesPerSecond.median;
          v.durability = {
            engineOverNaivePooled: round(engine / v.naive.pooledCyclesPerSecond, 3),
            engineOverNaiveSequential: round(engine / v.naive.sequentialCyclesPerSecond, 3),
          };
        }
      } finally {
        await stack.stop();
        current = undefined;
      }
      save();
    }

    if (has('population') || has('storm')) {
      const variant = opts.bigVariant;
      log(`[${variant}] starting a fresh stack for the population and the storm`);
      current = await startStack({
        variant,
        pin: opts.pin,
        pendingResolveDelayMs: opts.pendingResolveMs,
        logger,
        ...(opts.sandboxRateLimit > 0
          ? { sandboxRateLimit: { requestsPerSecond: opts.sandboxRateLimit, burst: opts.sandboxBurst } }
          : {}),
      });
      const stack = current;
      results.big = { variant };
      try {
        if (has('population')) {
          results.big.population = await runPopulation(
            stack,
            { n: opts.startN, concurrency: opts.startConcurrency, checkpoints: opts.memoryCheckpoints },
            log,
          );
          save();
        }
        if (has('storm')) {
          results.big.storm = await runStorm(
            stack,
            {
              n: opts.stormN,
              activitiesPerSecond: opts.stormRate,
              jitterMinutes: opts.stormJitterMinutes,
              startConcurrency: opts.startConcurrency,
              expectedStartsPerSecond: results.big.population?.subscriptions.startsPerSecond ?? 50,
              ...(opts.sandboxRateLimit > 0
                ? { sandboxRateLimit: { requestsPerSecond: opts.sandboxRateLimit, burst: opts.sandboxBurst } }
                : {}),
            },
            log,
          );
        }
      } finally {
        await stack.stop();
        current = undefined;
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  results.finishedAt = new Date().toISOString();
  results.durationSeconds = round((Date.now() - started) / 1000, 1);
  save();
  const plots = opts.plots ? await renderPlots(results, outDir) : [];
  writeFileSync(join(outDir, `${opts.mode}.md`), renderSummary(results, plots));
  log(`results: ${join(opts.outDir, `${opts.mode}.json`)}, summary: ${join(opts.outDir, `${opts.mode}.md`)}`);
  return results;
}

if (require.main === module) {
  let opts: BenchOptions;
  try {
    opts = parseBenchOptions(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  runBench(opts).then(
    (r) => {
      console.log(`bench finished in ${r.durationSeconds} s`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
