/**
 * idempotencyKeyWorkflow: the durable record of one Idempotency-Key (see src/shared/idempotency.ts). It holds the
 * request's fingerprint and, once recorded, the first answer, and answers both for as long as it runs (24 h by
 * default); it then completes with the record as its result, which stays readable for the namespace's retention.
 *
 * Claims (src/domain/idempotency-claim.ts decides): one request at a time runs the change; a second one waits here for
 * the first one's answer, within a bound, and is told "in progress" after it. Only handlers were added for claims:
 * histories from before them replay with the same commands.
 */
import { allHandlersFinished, condition, setHandler } from '@temporalio/workflow';
import {
  CLAIM_LEASE_MS,
  CLAIM_WAIT_MS,
  boundedMs,
  decideClaim,
  releaseClaim,
  type ClaimDecision,
  type IdempotencyClaim,
} from '../domain/idempotency-claim';
import {
  IDEMPOTENCY_KEY_RETENTION_MS,
  claimIdempotencyKeyUpdate,
  idempotencyRecordQuery,
  recordIdempotentAnswerUpdate,
  releaseIdempotencyClaimSignal,
  type IdempotencyClaimAnswer,
  type IdempotencyClaimRequest,
  type IdempotencyKeyInput,
  type IdempotencyRecord,
} from '../shared/idempotency';

export async function idempotencyKeyWorkflow(input: IdempotencyKeyInput): Promise<IdempotencyRecord> {
  const record: IdempotencyRecord = { ...input };
  let claim: IdempotencyClaim | undefined;
  setHandler(idempotencyRecordQuery, () => record);
  setHandler(recordIdempotentAnswerUpdate, (answer) => {
    record.answer ??= answer; // the first answer stands
    claim = undefined;
    return record;
  });
  setHandler(releaseIdempotencyClaimSignal, ({ claimId }) => {
    claim = releaseClaim(claim, claimId);
  });
  setHandler(
    claimIdempotencyKeyUpdate,
    async (request: IdempotencyClaimRequest): Promise<IdempotencyClaimAnswer> => {
      const leaseMs = boundedMs(request.leaseMs, CLAIM_LEASE_MS, 1_000, 600_000);
      const waitUntil = Date.now() + boundedMs(request.waitMs, CLAIM_WAIT_MS, 0, 60_000);
      const decide = (): ClaimDecision =>
        decideClaim(
          { requestHash: record.requestHash, answered: record.answer !== undefined, claim },
          { claimId: request.claimId, requestHash: request.requestHash, leaseMs },
          Date.now(),
        );
      let d = decide();
      // Another request holds the key: wait for its answer or release, or for its lease to run out.
      while (d.kind === 'wait' && Date.now() < waitUntil) {
        const holder = d.holder;
        await condition(
          () => record.answer !== undefined || claim?.claimId !== holder.claimId,
          Math.max(1, Math.min(waitUntil, holder.expiresAt) - Date.now()),
        );
        d = decide();
      }
      switch (d.kind) {
        case 'different_request':
          return { outcome: 'different_request', operation: record.operation };
        case 'answered':
          return { outcome: 'answered', answer: record.answer! };
        case 'granted':
          claim = d.claim;
          return { outcome: 'granted', claimId: d.claim.claimId, expiresAt: new Date(d.claim.expiresAt).toISOString() };
        case 'wait':
          return { outcome: 'in_progress' };
      }
    },
    {
      validator: (request: IdempotencyClaimRequest) => {
        if (typeof request?.claimId !== 'string' || request.claimId.length === 0 || request.claimId.length > 128) {
          throw new Error('claimIdempotencyKey: claimId must be a non-empty string of at most 128 characters');
        }
        if (typeof request.requestHash !== 'string') throw new Error('claimIdempotencyKey: requestHash is required');
      },
    },
  );
  // Nothing wakes this early: the record is kept for the whole period.
  await condition(() => false, input.keepForMs ?? IDEMPOTENCY_KEY_RETENTION_MS);
  await condition(allHandlersFinished);
  return record;
}
