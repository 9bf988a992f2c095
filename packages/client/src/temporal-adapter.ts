/**
 * The one place that touches Temporal SDK internals (`@temporalio/*\/lib/*`, which carry no semver promise) and
 * Temporal's error classes: decoding a workflow's first input, turning raw visibility rows into executions, and
 * mapping Temporal errors to billing errors. An SDK upgrade that moves an internal breaks this file only.
 */
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
  type Client,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import {
  BillingConflictError,
  BillingError,
  BillingNotFoundError,
  BillingUnavailableError,
  BillingValidationError,
} from './errors';

/** gRPC status codes (numeric, as on the wire). */
export const grpcStatus = { INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;
const UNAVAILABLE_CODES = new Set<number>([grpcStatus.UNAVAILABLE, grpcStatus.DEADLINE_EXCEEDED]);

/** The input of the first run of a workflow (later runs of a continued-as-new workflow carry state instead). */
export async function firstRunInput(client: Client, workflowId: string): Promise<unknown> {
  const { namespace, loadedDataConverter } = client.options;
  const desc = await client.workflow.getHandle(workflowId).describe();
  const runId = desc.raw.workflowExecutionInfo?.firstRunId || desc.runId;
  const history = await client.workflowService.getWorkflowExecutionHistory({
    namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  const payloads = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  return decodeFromPayloadsAtIndex<unknown>(loadedDataConverter, 0, payloads);
}

/**
 * One page of a visibility query, with a base64url page token a caller can pass back (the SDK's list iterator
 * hides its tokens). A token that is not one of ours answers a validation error naming `nextPageToken`.
 */
export async function listExecutionsPage(
  client: Client,
  query: string,
  pageSize: number,
  nextPageToken: string | undefined,
): Promise<{ executions: WorkflowExecutionInfo[]; nextPageToken?: string }> {
  const { namespace, loadedDataConverter } = client.options;
  try {
    const res = await client.workflowService.listWorkflowExecutions({
      namespace,
      query,
      pageSize,
      ...(nextPageToken ? { nextPageToken: Buffer.from(nextPageToken, 'base64url') } : {}),
    });
    const executions = await Promise.all(
      (res.executions ?? []).map((raw) => executionInfoFromRaw(raw, loadedDataConverter, raw, namespace)),
    );
    const token = res.nextPageToken?.length ? Buffer.from(res.nextPageToken).toString('base64url') : undefined;
    return { executions, ...(token ? { nextPageToken: token } : {}) };
  } catch (err) {
    if (isGrpcServiceError(err) && Number(err.code) === grpcStatus.INVALID_ARGUMENT && nextPageToken) {
      throw new BillingValidationError([{ path: 'nextPageToken', message: 'is not a token from a previous page' }]);
    }
    throw err;
  }
}

/** Temporal errors -> billing errors. Unknown errors pass through unchanged. */
export function translateTemporalError(err: unknown, resource: 'subscription' | 'cycle', id: string): unknown {
  if (err instanceof BillingError) return err;
  if (err instanceof WorkflowNotFoundError) return new BillingNotFoundError(resource, id);
  if (err instanceof WorkflowUpdateFailedError) {
    return new BillingConflictError(err.cause?.message || err.message);
  }
  if (err instanceof WorkflowFailedError) {
    return new BillingConflictError(
      `${resource} ${JSON.stringify(id)} ended without a result: ${messageOf(err.cause)}`,
    );
  }
  if (err instanceof ApplicationFailure) return new BillingConflictError(err.message);
  if (isGrpcServiceError(err)) {
    if (Number(err.code) === grpcStatus.NOT_FOUND) return new BillingNotFoundError(resource, id);
    if (UNAVAILABLE_CODES.has(err.code)) {
      return new BillingUnavailableError(`Temporal is unavailable: ${err.details || err.message}`, { cause: err });
    }
  }
  if (err instanceof TemporalFailure) return new BillingConflictError(err.message);
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (isGrpcServiceError(cause) && UNAVAILABLE_CODES.has(cause.code)) {
    return new BillingUnavailableError(`Temporal is unavailable: ${cause.details || cause.message}`, { cause: err });
  }
  return err;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
