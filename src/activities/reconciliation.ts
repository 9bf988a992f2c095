/**
 * Reconciliation activities: the sweep's I/O. They list billing cycles through Temporal visibility, observe each one
 * (its state in Temporal, every Purchase at the gateway, its record in each settlement target) and carry out the
 * fixes the domain proposes that need a Temporal client (signal a waiting cycle, ask a cycle to retry its settlement).
 * Recording a closed cycle's missing settlement goes through the ordinary `recordSettlement` activity.
 *
 * A cycle that cannot be observed is returned as unchecked with the reason, never as clean.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { isTerminalCycleStatus } from '../domain/billing-cycle';
import type {
  CycleObservation,
  GatewayPurchase,
  OutcomeEvent,
  SettlementCheck,
  SettlementPresence,
} from '../domain/reconciliation';
import {
  cycleStateQuery,
  gatewayEventSignal,
  parseCycleWorkflowId,
  retrySettlementUpdate,
  type BillingCycleInput,
  type BillingCycleResult,
  type BillingCycleState,
  type SettlementRecord,
  type SettlementTarget,
} from '../shared/billing-cycle';
import { snapshotOf, type QorePayGateway } from './gateway';
import { activePlatformSettlementComment, type SettlementClients } from './settlement-writers';

/**
 * What the sweep needs of the Temporal namespace the cycles run in: a client for handles (queries, signals, updates,
 * results), and two reads the SDK's client has no call for. The worker supplies them (src/reconciliation.ts,
 * `reconciliationTemporal`), so the activities never load the merchant library that implements the reads.
 */
export interface ReconciliationTemporal {
  client: Pick<Client, 'workflow' | 'withDeadline'>;
  /** One page of a visibility query; the page token is an opaque string the next call takes back. */
  listExecutionsPage(
    query: string,
    pageSize: number,
    pageToken: string | undefined,
  ): Promise<{ executions: { workflowId: string; runId: string; status: { name: string } }[]; nextPageToken?: string }>;
  /** The input of a workflow's first run (a continued-as-new workflow's later runs carry state instead). */
  firstRunInput(workflowId: string): Promise<unknown>;
}

export interface ReconciliationDeps {
  temporal?: ReconciliationTemporal;
  qorepay: Pick<QorePayGateway, 'getPurchase'>;
  settlement: SettlementClients;
}

/** A cycle as listed by visibility. */
export interface CycleRef {
  workflowId: string;
  runId: string;
  /** Temporal's execution status name (RUNNING, COMPLETED, FAILED, TERMINATED, ...). */
  executionStatus: string;
}

export interface InspectedCycles {
  observations: CycleObservation[];
  unchecked: { cycleId: string; reason: string }[];
}

const QUERY_DEADLINE_MS = 10_000;
const INSPECT_CONCURRENCY = 4;

export function createReconciliationActivities(deps: ReconciliationDeps) {
  const temporal = (): NonNullable<ReconciliationDeps['temporal']> => {
    if (!deps.temporal) {
      throw ApplicationFailure.create({
        type: 'ReconciliationUnavailable',
        nonRetryable: true,
        message: 'this worker has no Temporal client for reconciliation',
      });
    }
    return deps.temporal;
  };

  const query = (workflowId: string, runId?: string): Promise<BillingCycleState> => {
    const t = temporal().client;
    return t.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      t.workflow.getHandle(workflowId, runId).query(cycleStateQuery),
    );
  };

  return {
    /**
     * One page of the billing cycles on `taskQueue` that are open, or closed since `since`. Pages are carried by
     * token (base64url), so the workflow can continue as new in the middle of a listing.
     */
    async listCyclesToReconcile(input: {
      taskQueue: string;
      since: string;
      pageSize: number;
      pageToken?: string;
    }): Promise<{ cycles: CycleRef[]; nextPageToken?: string }> {
      const page = await temporal().listExecutionsPage(
        cyclesQuery(input.taskQueue, input.since),
        input.pageSize,
        input.pageToken,
      );
      const cycles: CycleRef[] = page.executions.map((info) => ({
        workflowId: info.workflowId,
        runId: info.runId,
        executionStatus: info.status.name,
      }));
      const token = page.nextPageToken;
      return { cycles, ...(token ? { nextPageToken: token } : {}) };
    },

    /** Observes each cycle: Temporal state, every Purchase at the gateway, its record in each settlement target. */
    async inspectCycles(input: { cycles: CycleRef[] }): Promise<InspectedCycles> {
      const out: InspectedCycles = { observations: [], unchecked: [] };
      const queue = [...input.cycles];
      const worker = async (): Promise<void> => {
        for (let ref = queue.shift(); ref; ref = queue.shift()) {
          heartbeat();
          try {
            out.observations.push(await observe(ref));
          } catch (err) {
            const reason = messageOf(err);
            log.warn('reconciliation: cycle not checked', { cycleId: ref.workflowId, reason });
            out.unchecked.push({ cycleId: ref.workflowId, reason });
          }
        }
      };
      await Promise.all(Array.from({ length: INSPECT_CONCURRENCY }, worker));
      const order = new Map(input.cycles.map((c, i) => [c.workflowId, i]));
      out.observations.sort((a, b) => (order.get(a.cycleId) ?? 0) - (order.get(b.cycleId) ?? 0));
      return out;
    },

    /**
     * Signals a waiting cycle the gateway event the webhook ingress would have sent, then watches it for a moment:
     * `moved` says whether it left the status it was waiting in (it confirms the outcome by reading the Purchase).
     */
    async signalCycleOutcome(input: {
      cycleId: string;
      fromStatus: string;
      event: OutcomeEvent;
      watchMs?: number;
    }): Promise<{ delivered: boolean; moved: boolean; status?: string }> {
      const handle = temporal().client.workflow.getHandle(input.cycleId);
      try {
        await handle.signal(gatewayEventSignal, input.event);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { delivered: false, moved: false };
        throw err;
      }
      log.info('reconciliation: gateway outcome signalled', { cycleId: input.cycleId, status: input.event.status });
      const deadline = Date.now() + (input.watchMs ?? 15_000);
      let status: string | undefined;
      while (Date.now() < deadline) {
        heartbeat();
        try {
          status = (await query(input.cycleId)).status;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) break;
          status = undefined;
        }
        if (status !== undefined && status !== input.fromStatus) return { delivered: true, moved: true, status };
        await new Promise((r) => setTimeout(r, 250));
      }
      return { delivered: true, moved: false, ...(status ? { status } : {}) };
    },

    /** Asks an open cycle whose settlement failed to retry it (its own check-before-write path). */
    async retryCycleSettlementFor(input: {
      cycleId: string;
    }): Promise<{ accepted: boolean; settlementFailed: boolean; settlement: SettlementRecord[]; refusal?: string }> {
      try {
        const view = await temporal()
          .client.workflow.getHandle(input.cycleId)
          .executeUpdate(retrySettlementUpdate, {
            args: [{}], // the sweep, not a merchant's key: recorded in the cycle's trail as `unattributed`
          });
        return { accepted: true, settlementFailed: view.settlementFailed, settlement: view.settlement };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) {
          return { accepted: false, settlementFailed: true, settlement: [], refusal: messageOf(err.cause ?? err) };
        }
        throw err;
      }
    },
  };

  async function observe(ref: CycleRef): Promise<CycleObservation> {
    const route = parseCycleWorkflowId(ref.workflowId);
    if (!route) throw new Error('not a billing cycle id');
    const cycle = await cycleInput(ref);
    const amountMinor = cycle.lineItems.reduce((sum, li) => sum + li.priceMinor * li.quantity, 0);
    const open = ref.executionStatus === 'RUNNING';

    let status: CycleObservation['status'];
    let settlementFailed = false;
    let purchaseIds: string[];
    let paidPurchaseId: string | undefined;
    if (open) {
      const state = await query(ref.workflowId, ref.runId);
      status = state.status;
      settlementFailed = state.settlementFailed;
      purchaseIds = state.purchaseIds;
      if (state.status === 'paid' || state.status === 'marked_paid') paidPurchaseId = state.purchaseId;
    } else if (ref.executionStatus === 'COMPLETED') {
      const result = (await temporal()
        .client.workflow.getHandle(ref.workflowId, ref.runId)
        .result()) as BillingCycleResult;
      status = result.status;
      purchaseIds = result.purchaseId ? [result.purchaseId] : [];
      if (result.status === 'paid' || result.status === 'marked_paid') paidPurchaseId = result.purchaseId;
    } else {
      throw new Error(`the cycle's workflow ended ${ref.executionStatus}, without a business result`);
    }

    const purchases: GatewayPurchase[] = [];
    for (const id of purchaseIds) {
      heartbeat();
      const snap = snapshotOf(await deps.qorepay.getPurchase(id, call()));
      purchases.push({
        purchaseId: snap.purchaseId,
        status: snap.status,
        updatedOn: snap.updatedOn,
        totalMinor: snap.totalMinor,
        ...(snap.declineCode ? { declineCode: snap.declineCode } : {}),
        ...(snap.declineMessage ? { declineMessage: snap.declineMessage } : {}),
        ...(snap.markedAsPaid ? { markedAsPaid: true } : {}),
      });
    }

    const settlements: SettlementCheck[] = [];
    const refs = paidPurchaseId ? [paidPurchaseId] : purchaseIds;
    for (const target of cycle.settlementTargets ?? []) {
      heartbeat();
      settlements.push(await settlementCheck(ref.workflowId, target, refs));
    }

    if (open && !isTerminalCycleStatus(status)) {
      // Read again after the gateway and the targets: a cycle that moved meanwhile is judged by where it is now.
      try {
        const again = await query(ref.workflowId, ref.runId);
        status = again.status;
        settlementFailed = again.settlementFailed;
        if (again.status === 'paid' || again.status === 'marked_paid') paidPurchaseId = again.purchaseId;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        throw new Error('the cycle closed while it was being checked; the next sweep checks it');
      }
    }

    return {
      cycleId: ref.workflowId,
      subscriptionId: cycle.subscriptionId,
      periodIndex: cycle.periodIndex,
      periodStart: cycle.periodStart,
      periodEnd: cycle.periodEnd,
      amountMinor,
      currency: cycle.currency,
      open,
      status,
      settlementFailed,
      ...(paidPurchaseId ? { paidPurchaseId } : {}),
      purchases,
      settlements,
    };
  }

  /** The input the cycle was started with: its period, amount and settlement targets. */
  async function cycleInput(ref: CycleRef): Promise<BillingCycleInput> {
    const input = (await temporal().firstRunInput(ref.workflowId)) as BillingCycleInput | undefined;
    if (!input || !Array.isArray(input.lineItems)) throw new Error('the cycle has no readable input');
    return input;
  }

  async function settlementCheck(
    cycleId: string,
    target: SettlementTarget,
    purchaseIds: string[],
  ): Promise<SettlementCheck> {
    switch (target.kind) {
      case 'activeplatform': {
        const ap = deps.settlement.activePlatform;
        if (!ap) throw new Error('ActivePlatform is not configured on this worker; its records cannot be checked');
        const accountId = Number(target.accountId);
        if (!Number.isSafeInteger(accountId) || accountId <= 0)
          throw new Error(`ActivePlatform accountId ${JSON.stringify(target.accountId)} is not an id`);
        const payment = await ap.findPaymentByComment(accountId, activePlatformSettlementComment(cycleId), call());
        const presence: SettlementPresence = !payment
          ? 'absent'
          : payment.status === 'waiting for payment'
            ? 'incomplete'
            : payment.status === 'cancelled'
              ? 'reversed'
              : 'recorded';
        return { target, presence, ...(payment ? { externalId: String(payment.id) } : {}) };
      }
      case 'gormic': {
        const g = deps.settlement.gormic;
        if (!g) throw new Error('Gormic is not configured on this worker; its records cannot be checked');
        for (const purchaseId of purchaseIds) {
          const found = await g.findPaymentsByTransactionRef(target.orderId, purchaseId, call());
          const receipt = found.find((p) => p.type === 'receipt');
          if (!receipt) continue;
          const presence: SettlementPresence =
            receipt.status === 'complete' ? 'recorded' : receipt.status === 'reversed' ? 'reversed' : 'incomplete';
          return { target, presence, externalId: String(receipt.id) };
        }
        return { target, presence: 'absent' };
      }
    }
  }
}

/** Open billing cycles on the task queue, and those closed since `since`. */
export function cyclesQuery(taskQueue: string, since: string): string {
  return (
    `WorkflowType = 'billingCycleWorkflow' AND TaskQueue = ${quote(taskQueue)} AND ` +
    `(ExecutionStatus = 'Running' OR CloseTime >= ${quote(since)})`
  );
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function heartbeat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // outside an activity (unit tests)
  }
}

function call(): { signal?: AbortSignal } {
  try {
    return { signal: Context.current().cancellationSignal };
  } catch {
    return {};
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
