import type { Violation } from './invariants';
import type { FaultCounts } from './webhook-faults';

export interface ProcessOptions {
  seed: number;
  count: number;
  minutes: number;
  runId: string;
  log: (line: string) => void;
}
export interface ProcessResult {
  subscriptions: number;
  cycles: number;
  paidCycles: number;
  charges: number;
  workerKills: number;
  killsMidCharge: number;
  serverRestarts: number;
  faults: FaultCounts;
  violations: { violation: Violation; trail: string }[];
  ms: number;
}
export async function runProcessChaos(_o: ProcessOptions): Promise<ProcessResult> {
  throw new Error('process mode: not yet');
}
