/**
 * The keys the machine writes into its state and commands. Their string forms are persisted (in the state carried
 * across continue-as-new, in reversal records, in notification ids) and must never change; the machine builds them
 * here and reads them only here, as structured values.
 *
 * - A work key names one reversal of one cycle across all its settlement targets: a refund Payment's
 *   (`<cycleId>:refund:<paymentId>`), a chargeback round's (`<cycleId>:chargeback:<round>`), or the restore that a
 *   chargeback reversal writes for that round (`<cycleId>:restore:<round>`).
 * - A seen key names a payment event already applied or alerted (`<kind>:<paymentId>`).
 */
import type { PaymentEventRecord } from './state';

export type WorkKey =
  | { kind: 'refund'; cycleId: string; paymentId: string }
  | { kind: 'chargeback' | 'restore'; cycleId: string; round: number };

/** A chargeback's or a restore's key: the round it belongs to. */
export type RoundKey = Extract<WorkKey, { round: number }>;

export function workKey(k: WorkKey): string {
  return k.kind === 'refund' ? `${k.cycleId}:refund:${k.paymentId}` : `${k.cycleId}:${k.kind}:${k.round}`;
}

/** The round key a persisted chargeback or restore key names, or undefined for any other key. */
export function readRoundKey(key: string): RoundKey | undefined {
  const m = /^(.*):(chargeback|restore):(\d+)$/.exec(key);
  if (!m) return undefined;
  return { kind: m[2] as RoundKey['kind'], cycleId: m[1]!, round: Number(m[3]) };
}

/** The key of the restore that undoes, in the same target, the chargeback reversal of `key`'s round. */
export function restoreKeyOf(key: RoundKey): string {
  return workKey({ ...key, kind: 'restore' });
}

export const seenKey = (kind: PaymentEventRecord['kind'], paymentId: string): string => `${kind}:${paymentId}`;
