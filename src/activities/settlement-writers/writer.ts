/**
 * The contract of a settlement target: record a paid cycle, reverse it after a refund or a chargeback. Neither of our
 * targets has an idempotency key, so every write checks for its own earlier write before writing: a retry after a
 * lost answer or a worker restart finds it instead of writing twice.
 *
 * Adding a target: one file here implementing `SettlementWriter` for its `SettlementTarget` member, and its line in
 * the registry (./index.ts), which the compiler asks for.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { SettlementTarget } from '../../shared/billing-cycle';
import { FailureType } from '../../shared/errors';

export type SettlementKind = SettlementTarget['kind'];
export type TargetOf<K extends SettlementKind> = Extract<SettlementTarget, { kind: K }>;

export interface RecordSettlementInput {
  cycleId: string;
  target: SettlementTarget;
  purchaseId: string;
  amountMinor: number;
  currency: string;
  /**
   * Idempotency reference of the record when it is not the first for this cycle (a settlement restored after a
   * chargeback was reversed): it replaces the cycle id in ActivePlatform's comment and the purchase id in Gormic's ref.
   */
  reference?: string;
}

export interface SettlementWrite {
  target: SettlementKind;
  status: 'recorded';
  /** ActivePlatform payment id or Gormic payment uid. */
  externalId: string;
  /** False when the record already existed (a retry after a lost answer, or a worker restart). */
  created: boolean;
}

export interface ReverseSettlementInput {
  cycleId: string;
  target: SettlementTarget;
  purchaseId: string;
  /** What `recordSettlement` returned for this target. */
  externalId: string;
  /** Minor units to reverse. */
  amountMinor: number;
  currency: string;
  kind: 'refund' | 'chargeback';
  /** QorePay refund/chargeback payment id, when known (a partial refund has its own). */
  paymentId?: string;
}

export interface SettlementReversalWrite {
  target: SettlementKind;
  status: 'reversed';
  /** Id of the reversing record (credit payment, refund payment), or of the cancelled payment. */
  externalId: string;
  method: 'activeplatform_credit' | 'activeplatform_cancel' | 'gormic_refund';
  created: boolean;
}

/** What a write may be cancelled by (the activity's cancellation signal). */
export interface WriteOptions {
  signal?: AbortSignal | undefined;
}

/** One settlement target. Both methods check before they write, so any retry is safe. */
export interface SettlementWriter<K extends SettlementKind> {
  record(input: RecordSettlementInput & { target: TargetOf<K> }, options: WriteOptions): Promise<SettlementWrite>;
  reverse(
    input: ReverseSettlementInput & { target: TargetOf<K> },
    options: WriteOptions,
  ): Promise<SettlementReversalWrite>;
}

/** A final refusal: settlement fails and an operator retries it later. */
export function settlementRejected(
  target: SettlementKind,
  message: string,
  details: Record<string, unknown> = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.SettlementRejected,
    nonRetryable: true,
    message,
    details: [{ target, ...details }],
  });
}

/** A numeric id as the targets' APIs want it, or a final refusal naming what is wrong. */
export function numericId(target: SettlementKind, what: string, value: string): number {
  const id = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(id) || id <= 0)
    throw settlementRejected(target, `${what} ${JSON.stringify(value)} is not an id`);
  return id;
}

/** The idempotency key of a reversal: what it reverses (`base`), its kind and the gateway's payment, if known. */
export const reversalKey = (base: string, kind: string, paymentId?: string): string =>
  `${base}:${kind}:${paymentId ?? 'full'}`;
