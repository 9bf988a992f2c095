/**
 * idempotencyKeyWorkflow: the durable record of one Idempotency-Key (see src/shared/idempotency.ts). It holds the
 * request's fingerprint and, once recorded, the first answer, and answers both for as long as it runs (24 h by
 * default); it then completes with the record as its result, which stays readable for the namespace's retention.
 */
import { allHandlersFinished, condition, setHandler } from '@temporalio/workflow';
import {
  IDEMPOTENCY_KEY_RETENTION_MS,
  idempotencyRecordQuery,
  recordIdempotentAnswerUpdate,
  type IdempotencyKeyInput,
  type IdempotencyRecord,
} from '../shared/idempotency';

export async function idempotencyKeyWorkflow(input: IdempotencyKeyInput): Promise<IdempotencyRecord> {
  const record: IdempotencyRecord = { ...input };
  setHandler(idempotencyRecordQuery, () => record);
  setHandler(recordIdempotentAnswerUpdate, (answer) => {
    record.answer ??= answer; // the first answer stands
    return record;
  });
  // Nothing wakes this early: the record is kept for the whole period.
  await condition(() => false, input.keepForMs ?? IDEMPOTENCY_KEY_RETENTION_MS);
  await condition(allHandlersFinished);
  return record;
}
