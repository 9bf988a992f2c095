/** What a workflow execution cost Temporal, read from its history and DescribeWorkflowExecution. */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

type Timestamp = { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined;
const tsMs = (t: Timestamp): number => (t ? Number(t.seconds?.toString() ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);

export interface ExecutionCost {
  events: number;
  stateTransitions: number;
  activities: number;
}

export async function executionCost(client: Client, workflowId: string): Promise<ExecutionCost> {
  const handle = client.workflow.getHandle(workflowId);
  const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
  const events = history.events ?? [];
  return {
    events: events.length,
    stateTransitions: Number(description.raw.workflowExecutionInfo?.stateTransitionCount?.toString() ?? NaN),
    activities: events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).length,
  };
}

export interface PaidTimeline {
  /** The first signal recorded in history (the webhook's `gatewayEvent`). */
  signaledAt?: number;
  /** The first search-attribute upsert that set BillingStatus to paid (the engine's visible `paid`). */
  paidStatusAt?: number;
  completedAt?: number;
}

/** Server-side instants (epoch ms, same host clock as the driver) of a cycle's signal, paid status and completion. */
export async function paidTimeline(client: Client, workflowId: string): Promise<PaidTimeline> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const out: PaidTimeline = {};
  for (const e of history.events ?? []) {
    const at = tsMs(e.eventTime);
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && out.signaledAt === undefined) {
      out.signaledAt = at;
    } else if (
      e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES &&
      out.paidStatusAt === undefined
    ) {
      const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.BillingStatus;
      if (field?.data && Buffer.from(field.data).toString('utf8') === '"paid"') out.paidStatusAt = at;
    } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) {
      out.completedAt = at;
    }
  }
  return out;
}
