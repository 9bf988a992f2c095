/**
 * Changes under an Idempotency-Key (Stripe's semantics; see src/shared/idempotency.ts), and the one path every change
 * of a subscription or cycle takes: ownership is read once (one describe of the subscription), then the key's record
 * decides whether the update runs.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { createHash, randomUUID } from 'node:crypto';
import { CycleIdSchema, IdempotencyKeySchema, SubscriptionIdSchema } from './schemas';
import { BillingConflictError, BillingNotFoundError } from './errors';
import { translateTemporalError as translate } from './temporal-adapter';
import { call, validate, type BillingContext, type Resource } from './context';
import {
  IDEMPOTENCY_KEY_WORKFLOW_TYPE,
  idempotencyKeyWorkflowId,
  claimIdempotencyKeyUpdate,
  idempotencyRecordQuery,
  recordIdempotentAnswerUpdate,
  releaseIdempotencyClaimSignal,
  type IdempotencyClaimAnswer,
  type IdempotencyKeyInput,
  type IdempotencyRecord,
  type IdempotentAnswer,
} from '../../../src/shared/idempotency';

/** Options of every change: an idempotency key makes it safe to retry. */
export interface IdempotentRequestOptions {
  /**
   * 1–255 printable ASCII characters, unique per request (e.g. a UUID), kept at least 24 h per merchant. A repeat
   * with the same key and the same request gets the first answer again and is carried out once; the same key with
   * a different request throws BillingConflictError naming the key. Without a key, each call is a new request.
   */
  idempotencyKey?: string;
}

/** A change of one subscription or cycle: what it is (for the key's request hash) and whom it targets. */
export interface ChangeRequest {
  operation: string;
  resource: Resource;
  id: string;
  body: unknown;
  request: IdempotentRequestOptions;
}

/**
 * Runs an update of a subscription or cycle this client may change. Like authentication, ownership comes first:
 * another merchant's (or no) subscription is not found, key or not; it is read once, here, for keyed changes too.
 */
export async function change<T>(ctx: BillingContext, req: ChangeRequest, fn: (h: WorkflowHandle) => Promise<T>) {
  if (req.request.idempotencyKey !== undefined)
    validate(IdempotencyKeySchema, req.request.idempotencyKey, ['idempotencyKey']);
  let handle: WorkflowHandle;
  if (req.resource === 'subscription') {
    const id = validate(SubscriptionIdSchema, req.id, ['subscriptionId']);
    await ctx.assertOwns(id, 'subscription', id);
    handle = ctx.subscriptionHandle(id);
  } else {
    const id = validate(CycleIdSchema, req.id, ['cycleId']);
    await ctx.assertOwnsCycle(id);
    handle = ctx.temporal.workflow.getHandle(id);
  }
  return idempotent(ctx, req, () => ctx.runUpdate(req.resource, req.id, handle, fn));
}

/**
 * Runs `run` under the request's idempotency key. Without a key it just runs. With one: the key's record is opened
 * (or found) and claimed. A record of a different request is refused with a conflict naming the key; a recorded
 * answer is returned again (or its error thrown again) without running anything; while another request with the key
 * is running, the claim waits for its answer (up to CLAIM_WAIT_MS) and then answers a conflict saying the first
 * request is still in progress. Otherwise this request holds the claim: the change runs and its answer is recorded.
 * Unavailable and validation errors are not recorded: the claim is released and a retry with the key runs again. A
 * claimant that dies lets its lease (CLAIM_LEASE_MS) run out. The caller has checked ownership.
 */
export async function idempotent<T>(
  ctx: BillingContext,
  req: Pick<ChangeRequest, 'operation' | 'id' | 'body' | 'request'>,
  run: () => Promise<T>,
): Promise<T> {
  if (req.request.idempotencyKey === undefined) return run();
  const key = validate(IdempotencyKeySchema, req.request.idempotencyKey, ['idempotencyKey']);
  const { operation, id: target, body } = req;
  const requestHash = createHash('sha256').update(canonical({ operation, target, body })).digest('hex');
  const input: IdempotencyKeyInput = { merchantId: ctx.merchantId, key, operation, requestHash };
  const handle = await openRecord(ctx, input);
  if (handle.record) {
    // The key's 24 h are over (its workflow finished): its record still answers, but takes no claims or answers.
    if (handle.record.requestHash !== requestHash) throw differentRequest(key, handle.record.operation);
    return handle.record.answer ? replay<T>(handle.record.answer) : run();
  }
  const claimId = randomUUID();
  const claim = await claimKey(handle, key, { claimId, requestHash });
  switch (claim.outcome) {
    case 'different_request':
      throw differentRequest(key, claim.operation);
    case 'answered':
      return replay<T>(claim.answer);
    case 'in_progress':
      throw new BillingConflictError(
        `Idempotency-Key ${JSON.stringify(key)}: the first request with this key is still in progress; ` +
          'retry later to get its answer',
        ['Idempotency-Key'],
      );
    case 'granted':
      break;
  }
  let answer: IdempotentAnswer;
  let result: T;
  try {
    result = await run();
    answer = { ok: true, value: result };
  } catch (err) {
    if (err instanceof BillingNotFoundError) {
      answer = { ok: false, code: 'not_found', message: err.message, resource: err.resource, id: err.id };
    } else if (err instanceof BillingConflictError) {
      answer = { ok: false, code: 'conflict', message: err.message };
    } else {
      await releaseClaim(handle, claimId);
      throw err;
    }
    await recordAnswer(handle, answer);
    throw err;
  }
  await recordAnswer(handle, answer);
  return result;
}

/** Starts the key's record, or finds it: running (query it) or finished after its 24 h (its result). */
async function openRecord(
  ctx: BillingContext,
  input: IdempotencyKeyInput,
): Promise<WorkflowHandle & { record?: IdempotencyRecord }> {
  const workflowId = idempotencyKeyWorkflowId(input.merchantId, input.key);
  try {
    return await ctx.temporal.workflow.start(IDEMPOTENCY_KEY_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: ctx.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw translate(err, 'subscription', input.key);
  }
  const handle = ctx.temporal.workflow.getHandle(workflowId);
  const record = await call('subscription', input.key, () => handle.result() as Promise<IdempotencyRecord>);
  return Object.assign(handle, { record });
}

/**
 * Claims the key in its workflow. A worker still running code from before claims (a rolling deploy) rejects the
 * update as unknown: then the record is read as before claims existed, and this request runs unclaimed.
 */
async function claimKey(
  handle: WorkflowHandle,
  key: string,
  request: { claimId: string; requestHash: string },
): Promise<IdempotencyClaimAnswer> {
  try {
    return await handle.executeUpdate(claimIdempotencyKeyUpdate, { args: [request] });
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError && /no registered handler/i.test(err.cause?.message ?? ''))) {
      throw translate(err, 'subscription', key);
    }
  }
  const record = await call('subscription', key, () => handle.query(idempotencyRecordQuery));
  if (record.requestHash !== request.requestHash) return { outcome: 'different_request', operation: record.operation };
  if (record.answer) return { outcome: 'answered', answer: record.answer };
  return { outcome: 'granted', claimId: request.claimId, expiresAt: new Date().toISOString() };
}

/** Best effort: a claim that could not be released lapses after its lease. */
async function releaseClaim(handle: WorkflowHandle, claimId: string): Promise<void> {
  try {
    await handle.signal(releaseIdempotencyClaimSignal, { claimId });
  } catch {
    // Temporal is unreachable: the lease runs out on its own.
  }
}

/** Best effort: an answer that could not be recorded only means a retry with the key runs the change again. */
async function recordAnswer(handle: WorkflowHandle, answer: IdempotentAnswer): Promise<void> {
  try {
    await handle.executeUpdate(recordIdempotentAnswerUpdate, { args: [answer] });
  } catch {
    // The record's workflow has finished (24 h later) or Temporal is unreachable: nothing to keep.
  }
}

function differentRequest(key: string, operation: string): BillingConflictError {
  return new BillingConflictError(
    `Idempotency-Key ${JSON.stringify(key)} was already used for a different request (${operation}); ` +
      'use a new key for a new request',
    ['Idempotency-Key'],
  );
}

/** A recorded answer, given again: the value, or the error it was. */
function replay<T>(answer: IdempotentAnswer): T {
  if (answer.ok) return answer.value as T;
  if (answer.code === 'not_found') throw new BillingNotFoundError(answer.resource ?? 'subscription', answer.id ?? '');
  throw new BillingConflictError(answer.message);
}

/**
 * The Temporal update id of an idempotent request: the caller's key, prefixed by the operation so a refund key and a
 * chargeback key can never collide. No key, no id (Temporal gives each call its own).
 */
export function idempotentUpdateId(
  operation: 'refund' | 'chargeback',
  request: IdempotentRequestOptions,
): string | undefined {
  if (request.idempotencyKey === undefined) return undefined;
  return `${operation}:${validate(IdempotencyKeySchema, request.idempotencyKey, ['idempotencyKey'])}`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON with sorted keys, so key order does not make two equal requests (or terms) differ. */
export function canonical(v: unknown): string {
  return (
    JSON.stringify(v, (_k, value: unknown) =>
      isPlainObject(value)
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, value[k]]),
          )
        : value,
    ) ?? 'undefined'
  );
}
