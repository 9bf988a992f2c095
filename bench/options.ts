/**
 * Benchmark sizes and knobs: defaults per mode (`--quick` or full), each overridable by a flag (`--name=value`) or
 * an environment variable (BENCH_NAME, e.g. BENCH_STORM_N=2000). Flags win over the environment.
 */
import type { Variant } from './support/stack';

export interface BenchOptions {
  mode: 'quick' | 'full';
  /** Dev-server variants that run the throughput, latency and naive experiments. */
  variants: Variant[];
  /** The variant that runs the population (starts, memory) and storm experiments. */
  bigVariant: Variant;
  /** Experiments to run: throughput, latency, naive, population, storm. */
  only: string[];
  pin: boolean;
  outDir: string;
  plots: boolean;
  concurrency: number;
  warmupSeconds: number;
  windowSeconds: number;
  pairs: number;
  costSamples: number;
  latencyRate: number;
  latencySeconds: number;
  latencyLoadConcurrency: number;
  pendingResolveMs: number;
  naiveSeconds: number;
  naivePool: number;
  startN: number;
  startConcurrency: number;
  memoryCheckpoints: number[];
  stormN: number;
  stormRate: number;
  stormJitterMinutes: number;
  sandboxRateLimit: number;
  sandboxBurst: number;
}

const DEFAULTS: Record<'quick' | 'full', Omit<BenchOptions, 'mode' | 'outDir' | 'only' | 'pin' | 'plots'>> = {
  quick: {
    variants: ['memory', 'file'],
    bigVariant: 'file',
    concurrency: 32,
    warmupSeconds: 4,
    windowSeconds: 6,
    pairs: 2,
    costSamples: 5,
    latencyRate: 5,
    latencySeconds: 6,
    latencyLoadConcurrency: 16,
    pendingResolveMs: 300,
    naiveSeconds: 3,
    naivePool: 32,
    startN: 500,
    startConcurrency: 50,
    memoryCheckpoints: [100, 250, 500],
    stormN: 300,
    stormRate: 60,
    stormJitterMinutes: 0,
    sandboxRateLimit: 150,
    sandboxBurst: 30,
  },
  full: {
    variants: ['memory', 'file'],
    bigVariant: 'file',
    concurrency: 64,
    warmupSeconds: 10,
    windowSeconds: 15,
    pairs: 3,
    costSamples: 10,
    latencyRate: 5,
    latencySeconds: 25,
    latencyLoadConcurrency: 32,
    pendingResolveMs: 300,
    naiveSeconds: 8,
    naivePool: 64,
    startN: 10_000,
    startConcurrency: 100,
    memoryCheckpoints: [1000, 5000, 10_000],
    stormN: 10_000,
    stormRate: 150,
    stormJitterMinutes: 0,
    sandboxRateLimit: 200,
    sandboxBurst: 50,
  },
};

const toEnvName = (flag: string): string => `BENCH_${flag.replace(/-/g, '_').toUpperCase()}`;
const toKey = (flag: string): string => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

export function parseBenchOptions(argv: string[], env: Record<string, string | undefined>): BenchOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(a.slice(2), argv[++i]!);
    else flags.set(a.slice(2), 'true');
  }
  const quick = flags.get('quick') === 'true' || env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const mode = quick ? 'quick' : 'full';
  const base = DEFAULTS[mode];
  const known = new Set([...Object.keys(base), 'quick', 'only', 'pin', 'outDir', 'plots', 'noPin']);
  for (const f of flags.keys()) if (!known.has(toKey(f))) throw new Error(`unknown option --${f}`);
  const raw = (flag: string): string | undefined => flags.get(flag) ?? env[toEnvName(flag)];
  const num = (flag: string, def: number): number => {
    const v = raw(flag);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number, got ${v}`);
    return n;
  };
  const list = (flag: string, def: string[]): string[] =>
    raw(flag)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? def;
  const asVariant = (v: string): Variant => {
    if (v !== 'memory' && v !== 'file') throw new Error(`unknown dev-server variant ${v} (memory or file)`);
    return v;
  };
  const variants = list('variants', base.variants).map(asVariant);
  const bigVariant = asVariant(raw('big-variant') ?? base.bigVariant);
  const concurrency = num('concurrency', base.concurrency);
  return {
    mode,
    variants,
    bigVariant,
    only: list('only', ['throughput', 'latency', 'naive', 'population', 'storm']),
    pin: !(flags.has('no-pin') || raw('pin') === 'false'),
    plots: raw('plots') !== 'false',
    outDir: raw('out-dir') ?? 'bench/results',
    concurrency,
    warmupSeconds: num('warmup-seconds', base.warmupSeconds),
    windowSeconds: num('window-seconds', base.windowSeconds),
    pairs: num('pairs', base.pairs),
    costSamples: num('cost-samples', base.costSamples),
    latencyRate: num('latency-rate', base.latencyRate),
    latencySeconds: num('latency-seconds', base.latencySeconds),
    latencyLoadConcurrency: num('latency-load-concurrency', base.latencyLoadConcurrency),
    pendingResolveMs: num('pending-resolve-ms', base.pendingResolveMs),
    naiveSeconds: num('naive-seconds', base.naiveSeconds),
    naivePool: num('naive-pool', base.naivePool),
    startN: num('start-n', base.startN),
    startConcurrency: num('start-concurrency', base.startConcurrency),
    memoryCheckpoints: list('memory-checkpoints', base.memoryCheckpoints.map(String)).map(Number),
    stormN: num('storm-n', base.stormN),
    stormRate: num('storm-rate', base.stormRate),
    stormJitterMinutes: Math.floor(num('storm-jitter-minutes', base.stormJitterMinutes)),
    sandboxRateLimit: num('sandbox-rate-limit', base.sandboxRateLimit),
    sandboxBurst: num('sandbox-burst', base.sandboxBurst),
  };
}
