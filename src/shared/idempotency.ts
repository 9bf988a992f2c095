/**
 * Contracts of idempotency keys (Stripe's semantics): a mutating request sent with an `Idempotency-Key` is recorded
 * in a small workflow of its own, `idempotency:{merchantId}:{key}`, that keeps the request's fingerprint and its
 * answer for at least `IDEMPOTENCY_KEY_RETENTION_MS` (24 h). A repeat with the same key and the same request gets the
 * recorded answer; the same key with a different request is refused (409 naming the key). The record lives in
 * Temporal, so it survives restarts of every process and is shared by every API replica and BillingClient.
 *
 * Two requests racing with one key: before running, a request claims the key (`claimIdempotencyKey`). The key's
 * workflow answers the recorded answer, or grants the claim (an id and a lease of CLAIM_LEASE_MS workflow time), or,
 * while another request holds a live claim, waits up to CLAIM_WAIT_MS for that request's answer and then answers
 * "in progress" (the client throws a conflict: HTTP 409, retry later). The claimant records its answer, or releases
 * the claim when its error is not recorded (unavailable, validation) so a retry can run; a claimant that died lets
 * its lease run out. Rules in src/domain/idempotency-claim.ts.
 */
import { defineQuery, defineSignal, defineUpdate } from './message-definitions';
export { CLAIM_LEASE_MS, CLAIM_WAIT_MS } from '../domain/idempotency-claim';

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

export interface IdempotencyClaimRequest {
  /** Unique per request (a UUID). */
  claimId: string;
  /** The fingerprint of this request: a different one answers `different_request`. */
  requestHash: string;
  /** Default CLAIM_LEASE_MS (kept within 1 s .. 10 min). */
  leaseMs?: number;
  /** How long to wait for another request's answer; default CLAIM_WAIT_MS (kept within 0 .. 60 s). */
  waitMs?: number;
}

export type IdempotencyClaimAnswer =
  /** The key has an answer: give it again, run nothing. */
  | { outcome: 'answered'; answer: IdempotentAnswer }
  /** Run the change, then record its answer (or release the claim) before `expiresAt`. */
  | { outcome: 'granted'; claimId: string; expiresAt: string }
  /** The key was first used for another request (`operation`). */
  | { outcome: 'different_request'; operation: string }
  /** Another request with the key is still running (waited `waitMs` for it): try again later. */
  | { outcome: 'in_progress' };

export const claimIdempotencyKeyUpdate = defineUpdate<IdempotencyClaimAnswer, [IdempotencyClaimRequest]>(
  'claimIdempotencyKey',
);
/** The claimant's error is not recorded (unavailable, validation): the key is free for a retry at once. */
export const releaseIdempotencyClaimSignal = defineSignal<[{ claimId: string }]>('releaseIdempotencyClaim');
