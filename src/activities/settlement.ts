/**
 * Settlement activities: record a paid cycle in each of the merchant's own systems and reverse it after a refund or a
 * chargeback. Each target is a `SettlementWriter` (./settlement-writers, one file per target); these activities only
 * pick the writer of the target's kind, pass it the activity's cancellation signal, and classify what went wrong.
 *
 * Business answers (closed order, invalid status, unknown payment, a target we have no client for) become
 * non-retryable `SettlementRejected` failures; transport failures stay retryable. Messages come from the clients,
 * which redact their secrets; no error object of theirs is attached.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { isIntegrationError } from '../integrations/http';
import type { SettlementTarget } from '../shared/billing-cycle';
import { FailureType } from '../shared/errors';
import {
  settlementWriter,
  type RecordSettlementInput,
  type ReverseSettlementInput,
  type SettlementClients,
  type SettlementReversalWrite,
  type SettlementWrite,
  type SettlementWriter,
  type WriteOptions,
} from './settlement-writers';

export type {
  ActivePlatformSettlement,
  GormicSettlement,
  RecordSettlementInput,
  ReverseSettlementInput,
  SettlementClients,
  SettlementReversalWrite,
  SettlementWrite,
} from './settlement-writers';
export {
  activePlatformReversalComment,
  activePlatformSettlementComment,
  gormicReversalRef,
} from './settlement-writers';

/** Errors of settlement activities: `SettlementRejected` (final) or a retryable transport failure. */
function toSettlementFailure(err: unknown, target: SettlementTarget['kind'], operation: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (isIntegrationError(err)) {
    const details = {
      target,
      operation,
      kind: err.kind,
      code: err.code,
      httpStatus: err.httpStatus,
      businessOutcome: err.businessOutcome,
    };
    // A retry is safe even after an ambiguous write, because every write is checked for before it is made.
    const transient = err.retryable || (err.kind === 'Unexpected' && err.outcomeUnknown);
    if (transient) {
      return ApplicationFailure.create({ type: 'SettlementUnavailable', message: err.message, details: [details] });
    }
    // Business outcomes (closed order, invalid status, unknown payment) and configuration problems (credentials,
    // validation) will not change on retry: settlement fails and an operator retries it later.
    return ApplicationFailure.create({
      type: FailureType.SettlementRejected,
      nonRetryable: true,
      message: err.message,
      details: [details],
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({
    type: FailureType.SettlementRejected,
    nonRetryable: true,
    message: `${target} ${operation}: ${message}`,
    details: [{ target, operation }],
  });
}

/** The activity's cancellation signal (none when called outside an activity, e.g. directly in a test). */
function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** Runs one write of the target's writer, with the activity's cancellation signal; failures classified. */
async function withWriter<T>(
  clients: SettlementClients,
  target: SettlementTarget,
  operation: 'recordSettlement' | 'reverseSettlement',
  write: (writer: SettlementWriter<SettlementTarget['kind']>, options: WriteOptions) => Promise<T>,
): Promise<T> {
  try {
    return await write(settlementWriter<SettlementTarget['kind']>(clients, target.kind), {
      signal: cancellationSignal(),
    });
  } catch (err) {
    throw toSettlementFailure(err, target.kind, operation);
  }
}

export function createSettlementActivities(clients: SettlementClients) {
  return {
    /** Records a paid cycle in one target, at most once whatever is retried. */
    recordSettlement: (input: RecordSettlementInput): Promise<SettlementWrite> =>
      withWriter(clients, input.target, 'recordSettlement', (writer, options) => writer.record(input, options)),

    /** Writes the reversal of a recorded settlement (refund or chargeback), at most once per (cycle, event). */
    reverseSettlement: (input: ReverseSettlementInput): Promise<SettlementReversalWrite> =>
      withWriter(clients, input.target, 'reverseSettlement', (writer, options) => writer.reverse(input, options)),
  };
}
