/** The shape of `bench/results/<mode>.json`. */
import type { BenchOptions } from './options';
import type { LatencySeries } from './experiments/latency';
import type { NaiveResult } from './experiments/naive';
import type { PopulationResult } from './experiments/population';
import type { StormResult } from './experiments/storm';
import type { ThroughputResult } from './experiments/throughput';
import type { Variant } from './support/stack';

export interface VariantResults {
  variant: Variant;
  throughput?: ThroughputResult;
  latency?: LatencySeries[];
  naive?: NaiveResult;
  /** Engine cycles/s ÷ naive cycles/s (the price of durability), from the same run. */
  durability?: { engineOverNaivePooled: number; engineOverNaiveSequential: number };
}

export interface BenchResults {
  schema: 1;
  mode: BenchOptions['mode'];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  machine: { cpuModel: string; cores: number; memoryGiB: number; os: string; loadAverageAtStart: number[] };
  versions: { node: string; temporalSdk: string; temporalCli: string; commit: string };
  options: BenchOptions;
  variants: VariantResults[];
  big?: { variant: Variant; population?: PopulationResult; storm?: StormResult };
}
