/**
 * Reading the world after a chaos run: what Temporal says about each subscription and cycle execution, and what the
 * gateway and the settlement targets recorded. Both modes use it: fast mode reads its in-process sandboxes, process
 * mode reads the sandbox process over its control API.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LedgerEntry } from '../../src/sandbox/qorepay/server';
import { cycleStateQuery, cycleWorkflowId, type BillingCycleResult } from '../../src/shared/billing-cycle';
import type { OperationsAlert } from '../../src/shared/notifications';
import { subscriptionStateQuery, subscriptionWorkflowId } from '../../src/shared/subscription';
import type {
  ChaosWorld,
  CycleObservation,
  GatewayPayment,
  OpRecord,
  SettlementRecordObservation,
  SubscriptionObservation,
} from './invariants';
import type { PlannedSubscription } from './plan';

/** The gateway's and the settlement targets' own records. */
export interface GatewayRecords {
  ledger: LedgerEntry[];
  payments: GatewayPayment[];
  /** Status and total of each Purchase asked for (unknown ids are left out). */
  purchases(ids: string[]): Promise<Map<string, { status: string; total: number }>>;
  settlement: SettlementRecordObservation[];
  /** How often the gateway answered `GET /purchases/{id}/` for each Purchase asked for. */
  reads(ids: string[]): Promise<Map<string, number>>;
}

/** What the invariants need to know about the mode (see ChaosWorld). */
export interface ModeFacts {
  readsPerHour: number;
  recoveryRan: boolean;
  lostWebhooks: Set<string>;
}

/** Refund and chargeback Payments as the QorePay sandbox keeps them. */
export function gatewayPayments(raw: Record<string, unknown>[]): GatewayPayment[] {
  return raw.map((pm) => ({
    id: pm.id as string,
    purchaseId: (pm.related_to as { id: string }).id,
    type: (pm.payment as { payment_type: string }).payment_type,
    amountMinor: (pm.payment as { amount: number }).amount,
  }));
}

/** Settlement records as the Gormic and ActivePlatform sandboxes keep them. */
export function settlementRecords(
  gormic: {
    orderId: string;
    type: 'receipt' | 'refund';
    transactionRef?: string | null;
    amountMinor: number;
    status: string;
  }[],
  activePlatform: { comment: string; totalMinor: number; status: string }[],
): SettlementRecordObservation[] {
  return [
    ...gormic.map((g) => ({
      target: 'gormic' as const,
      subscriptionId: g.orderId,
      type: g.type,
      ref: g.transactionRef ?? '',
      amountMinor: g.amountMinor,
      status: g.status,
    })),
    ...activePlatform.map((a) => ({
      target: 'activeplatform' as const,
      subscriptionId: /^cycle:([^:]+):/.exec(a.comment)?.[1] ?? '',
      type: 'receipt' as const,
      ref: a.comment,
      amountMinor: a.totalMinor,
      status: a.status,
    })),
  ];
}

/** Reads the world with a plain client (a time-skipping client's `result()` would unlock time while it waits). */
export async function observe(
  client: Client,
  batch: PlannedSubscription[],
  gateway: GatewayRecords,
  alerts: OperationsAlert[],
  ops: OpRecord[],
  endSim: number,
  mode: ModeFacts,
): Promise<ChaosWorld> {
  const observed: SubscriptionObservation[] = [];
  const cycles: CycleObservation[] = [];
  const { ledger } = gateway;
  for (const p of batch) {
    const h = client.workflow.getHandle(subscriptionWorkflowId(p.subscriptionId));
    let d;
    try {
      d = await h.describe();
    } catch (err) {
      // Process mode: a create the API never acknowledged may not exist; the plan still lists it.
      if (err instanceof WorkflowNotFoundError) continue;
      throw err;
    }
    const s = await h.query(subscriptionStateQuery);
    observed.push({
      subscriptionId: p.subscriptionId,
      execution: d.status.name,
      status:
        d.status.name === 'TIMED_OUT'
          ? `${s.status} (timeouts ${JSON.stringify(d.raw.executionConfig?.workflowExecutionTimeout)} / ${JSON.stringify(d.raw.executionConfig?.workflowRunTimeout)}, started ${d.startTime.toISOString()}, closed ${d.closeTime?.toISOString()})`
          : s.status,
      nextPeriodIndex: s.nextPeriodIndex,
      schedule: s.schedule,
      maxPeriods: p.maxPeriods,
      paymentEvents: s.paymentEvents,
    });
    for (let k = 0; k <= s.nextPeriodIndex; k++) {
      const cycleId = cycleWorkflowId(p.subscriptionId, k);
      const ch = client.workflow.getHandle(cycleId);
      let execution: string;
      let startedAt: number | undefined;
      let closedAt: number | undefined;
      try {
        const desc = await ch.describe();
        execution = desc.status.name;
        startedAt = desc.startTime.getTime();
        closedAt = desc.closeTime?.getTime();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) continue;
        throw err;
      }
      const fromLedger = [...new Set(ledger.filter((e) => e.reference === cycleId).map((e) => e.purchaseId))];
      const obs: CycleObservation = {
        cycleId,
        subscriptionId: p.subscriptionId,
        periodIndex: k,
        execution,
        ...(startedAt !== undefined ? { startedAt } : {}),
        ...(closedAt !== undefined ? { closedAt } : {}),
        status: 'unknown',
        purchaseIds: fromLedger,
        amountMinor: 0,
        paused: false,
      };
      if (execution === 'RUNNING') {
        // A cycle that cannot answer a query (its workflow task fails) is reported as stuck, not a crash of the run.
        const st = await ch.query(cycleStateQuery).catch((err: unknown) => {
          obs.status = `unqueryable: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`;
          return undefined;
        });
        if (!st) {
          cycles.push(obs);
          continue;
        }
        obs.status = st.status;
        obs.paused = st.paused;
        obs.amountMinor = st.amountMinor;
        obs.purchaseIds = [...new Set([...st.purchaseIds, ...fromLedger])];
      } else if (execution === 'COMPLETED') {
        const r = (await ch.result()) as BillingCycleResult;
        obs.status = r.status;
        obs.amountMinor = r.amountMinor;
        if (r.purchaseId) {
          obs.paidPurchaseId = r.purchaseId;
          if (!obs.purchaseIds.includes(r.purchaseId)) obs.purchaseIds.push(r.purchaseId);
        }
      }
      cycles.push(obs);
    }
  }
  const ids = [...new Set([...ledger.map((e) => e.purchaseId), ...cycles.flatMap((c) => c.purchaseIds)])];
  const purchases = await gateway.purchases(ids);
  const reads = await gateway.reads(ids);
  return {
    subscriptions: batch,
    observed,
    cycles,
    ops,
    ledger,
    purchaseStatus: (id) => purchases.get(id),
    gatewayPayments: gateway.payments,
    settlement: gateway.settlement,
    alerts,
    endSim,
    reads: (id) => reads.get(id) ?? 0,
    ...mode,
  };
}
