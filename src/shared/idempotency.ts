/**
 * Contracts of idempotency keys (Stripe's semantics): a mutating request sent with an `Idempotency-Key` is recorded
 * in a small workflow of its own, `idempotency:{merchantId}:{key}`, that keeps the request's fingerprint and its
 * answer for at least `IDEMPOTENCY_KEY_RETENTION_MS` (24 h). A repeat with the same key and the same request gets the
 * recorded answer; the same key with a different request is refused (409 naming the key). The record lives in
 * Temporal, so it survives restarts of every process and is shared by every API replica and BillingClient.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const IDEMPOTENCY_KEY_WORKFLOW_TYPE = 'idempotencyKeyWorkflow';

/** How long a key's record is kept at least (its workflow runs this long; then namespace retention applies). */
export const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

export function idempotencyKeyWorkflowId(merchantId: string, key: string): string {
  return `idempotency:${merchantId}:${key}`;
}

export interface IdempotencyKeyInput {
  merchantId: string;
  key: string;
  /** The operation the key was first used for, e.g. `refundCycle`. */
  operation: string;
  /** Hex SHA-256 of the canonical request (operation, target, validated body): no request data is kept. */
  requestHash: string;
  /** Default IDEMPOTENCY_KEY_RETENTION_MS. */
  keepForMs?: number;
}

/** A recorded answer: the value of a success, or a billing error's code and message (replayed as that error). */
export type IdempotentAnswer =
  | { ok: true; value: unknown }
  | { ok: false; code: 'not_found' | 'conflict'; message: string; resource?: 'subscription' | 'cycle'; id?: string };

export interface IdempotencyRecord extends IdempotencyKeyInput {
  /** Absent until the first request with the key has finished (or if it could not be recorded). */
  answer?: IdempotentAnswer;
}

export const idempotencyRecordQuery = defineQuery<IdempotencyRecord>('idempotencyRecord');
/** Records the first answer; later calls leave it as it is and answer the record. */
export const recordIdempotentAnswerUpdate = defineUpdate<IdempotencyRecord, [IdempotentAnswer]>(
  'recordIdempotentAnswer',
);
