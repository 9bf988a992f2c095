/**
 * Reconciliation: what a sweep concludes about one billing cycle from what it saw in Temporal (the cycle), at the
 * gateway (each Purchase, read now) and in the settlement targets (the cycle's record, looked up by its idempotency
 * key). Pure: no Temporal, no I/O, no clock. The reconciliation workflow runs the fixes this module proposes.
 *
 * Rules (each kind is a money rule; test/unit/domain/reconciliation*.test.ts check them):
 * - `paid_on_closed_cycle`: the cycle ended `failed` or `canceled`, yet one of its Purchases is paid at the gateway:
 *   money was taken and not recorded. Reported (critical alert) and never fixed automatically: whether to refund or to
 *   mark the period paid is a person's decision.
 * - `outcome_waiting`: an open cycle waits (`pending`, `retry_scheduled`, `action_required`) although the gateway
 *   already has the outcome: a Purchase is paid, or the pending charge was declined or the Purchase closed. Fixed by
 *   signalling the cycle the gateway event the webhook ingress would have sent, built from the sweep's own read of the
 *   Purchase: the cycle handles it like a webhook (paid concludes it; a decline or closure it confirms by a read).
 * - `settlement_missing`: a paid cycle has no live record in one of its settlement targets. Fixed by recording it once:
 *   an open cycle whose settlement failed is asked to retry its own settlement (`retrySettlement`); a closed cycle is
 *   recorded through the same settlement writer the cycle uses, which looks for the record before it writes. An open
 *   cycle whose settlement has not failed is still writing: not a discrepancy.
 * - `settlement_without_paid_cycle`: a target holds a live record for a cycle that is not paid. Reported.
 * - Transient states (`creating`, `charging`) are the cycle's own business; a cycle whose state could not be read is
 *   listed as unchecked, never silently passed.
 */
import {
  isChargePendingStatus,
  isClosedPurchaseStatus,
  isDeclinedPurchaseStatus,
  isPaidCycleStatus,
  isPaidPurchaseStatus,
  type CycleStatus,
  type PurchaseFacts,
  type SettlementTargetRef,
} from './billing-cycle';

export const DISCREPANCY_KINDS = [
  'paid_on_closed_cycle',
  'outcome_waiting',
  'settlement_missing',
  'settlement_without_paid_cycle',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** Words a finance person reads, per kind. */
export const DISCREPANCY_TITLES: Readonly<Record<DiscrepancyKind, string>> = {
  paid_on_closed_cycle: 'Money taken on a cycle that ended unpaid',
  outcome_waiting: 'Cycle waiting for an outcome the gateway already has',
  settlement_missing: 'Paid cycle missing its settlement record',
  settlement_without_paid_cycle: 'Settlement record without a paid cycle',
};

/** The operations alert code of each kind (searchable in logs; `billing_alerts{code=...}`). */
export const RECONCILIATION_ALERT_CODES: Readonly<Record<DiscrepancyKind, string>> = {
  paid_on_closed_cycle: 'reconciliation_paid_on_closed_cycle',
  outcome_waiting: 'reconciliation_outcome_waiting',
  settlement_missing: 'reconciliation_settlement_missing',
  settlement_without_paid_cycle: 'reconciliation_settlement_without_paid_cycle',
};

/** Statuses in which an open cycle waits for something the gateway may already know. */
export const WAITING_CYCLE_STATUSES: readonly CycleStatus[] = ['pending', 'retry_scheduled', 'action_required'];

/** A Purchase of the cycle as the gateway has it now. */
export type GatewayPurchase = PurchaseFacts & { totalMinor?: number };

/**
 * What a target holds under the cycle's idempotency key: `recorded` (a live record), `incomplete` (written but not
 * completed, e.g. an ActivePlatform payment still waiting for payment), `reversed` (recorded, then reversed after a
 * refund or chargeback) or `absent`.
 */
export type SettlementPresence = 'recorded' | 'incomplete' | 'reversed' | 'absent';

export interface SettlementCheck {
  target: SettlementTargetRef;
  presence: SettlementPresence;
  externalId?: string;
}

export interface CycleObservation {
  cycleId: string;
  subscriptionId: string;
  periodIndex: number;
  periodStart?: string;
  periodEnd?: string;
  amountMinor: number;
  currency: string;
  /** The cycle's workflow is still running. */
  open: boolean;
  status: CycleStatus;
  /** An open cycle's settlement failed and it waits for `retrySettlement`. */
  settlementFailed: boolean;
  /** The Purchase the cycle recorded as paid, if any. */
  paidPurchaseId?: string;
  /** Every Purchase of the cycle as the gateway has it now, the current one last. */
  purchases: GatewayPurchase[];
  /** One check per configured settlement target. */
  settlements: SettlementCheck[];
}

/** The gateway event a waiting cycle is signalled (the shape of the webhook ingress's `GatewayEvent`). */
export type OutcomeEvent = PurchaseFacts & { eventType: string };

export type ReconcileFix =
  | { type: 'signal_outcome'; event: OutcomeEvent }
  | { type: 'retry_settlement' }
  | { type: 'record_settlement'; target: SettlementTargetRef; purchaseId: string };

export interface Discrepancy {
  kind: DiscrepancyKind;
  cycleId: string;
  subscriptionId: string;
  periodIndex: number;
  periodStart?: string;
  periodEnd?: string;
  purchaseId?: string;
  amountMinor: number;
  currency: string;
  cycleStatus: CycleStatus;
  gatewayStatus?: string;
  target?: SettlementTargetRef['kind'];
  /** What the sweep does: a fix it can make safely, or a report for a person. */
  fix?: ReconcileFix;
  severity: 'warning' | 'critical';
  description: string;
}

export type ReconcileOutcome = 'fixed' | 'reported' | 'fix_failed';

/** A discrepancy and what the sweep did about it. */
export type ReconciliationItem = Omit<Discrepancy, 'fix'> & { outcome: ReconcileOutcome; note?: string };

/** Everything wrong with one cycle, with the fix for each where one is safe. */
export function reconcileCycle(o: CycleObservation): Discrepancy[] {
  const base: DiscrepancyBase = {
    cycleId: o.cycleId,
    subscriptionId: o.subscriptionId,
    periodIndex: o.periodIndex,
    ...(o.periodStart !== undefined ? { periodStart: o.periodStart } : {}),
    ...(o.periodEnd !== undefined ? { periodEnd: o.periodEnd } : {}),
    amountMinor: o.amountMinor,
    currency: o.currency,
    cycleStatus: o.status,
  };
  const paidAtGateway = lastWhere(o.purchases, (p) => isPaidPurchaseStatus(p.status));
  const current = o.purchases[o.purchases.length - 1];
  const gateway = gatewayDiscrepancy(o, base, paidAtGateway, current);
  const settlement = isPaidCycleStatus(o.status)
    ? missingSettlements(o, base, paidAtGateway, current)
    : settlementsWithoutPaidCycle(o, base, current);
  return [...(gateway ? [gateway] : []), ...settlement];
}

/** What every discrepancy of one cycle repeats: the cycle, its period and its amount. */
type DiscrepancyBase = Pick<
  Discrepancy,
  | 'cycleId'
  | 'subscriptionId'
  | 'periodIndex'
  | 'periodStart'
  | 'periodEnd'
  | 'amountMinor'
  | 'currency'
  | 'cycleStatus'
>;

/** Money the gateway took that a closed cycle did not record, or an outcome a waiting cycle has not heard of. */
function gatewayDiscrepancy(
  o: CycleObservation,
  base: DiscrepancyBase,
  paidAtGateway: PurchaseFacts | undefined,
  current: PurchaseFacts | undefined,
): Discrepancy | undefined {
  if (o.status === 'failed' || o.status === 'canceled') {
    if (!paidAtGateway) return undefined;
    return {
      ...base,
      kind: 'paid_on_closed_cycle',
      purchaseId: paidAtGateway.purchaseId,
      gatewayStatus: paidAtGateway.status,
      severity: 'critical',
      description:
        `the cycle ended ${o.status}, but purchase ${paidAtGateway.purchaseId} is ${paidAtGateway.status} at the ` +
        'gateway: money was taken and not recorded; refund it or record the period as paid',
    };
  }
  if (!o.open || !WAITING_CYCLE_STATUSES.includes(o.status)) return undefined;
  const known =
    paidAtGateway ??
    (o.status === 'pending' &&
    current &&
    !isChargePendingStatus(current.status) &&
    (isDeclinedPurchaseStatus(current.status) || isClosedPurchaseStatus(current.status))
      ? current
      : undefined);
  if (!known) return undefined;
  return {
    ...base,
    kind: 'outcome_waiting',
    purchaseId: known.purchaseId,
    gatewayStatus: known.status,
    severity: 'warning',
    fix: { type: 'signal_outcome', event: outcomeEvent(known) },
    description: `the cycle is ${o.status}, but purchase ${known.purchaseId} is already ${known.status} at the gateway`,
  };
}

/** A paid cycle's settlement targets that hold no (or only an incomplete) record of it. */
function missingSettlements(
  o: CycleObservation,
  base: DiscrepancyBase,
  paidAtGateway: PurchaseFacts | undefined,
  current: PurchaseFacts | undefined,
): Discrepancy[] {
  const purchaseId = o.paidPurchaseId ?? paidAtGateway?.purchaseId ?? current?.purchaseId;
  const out: Discrepancy[] = [];
  for (const check of o.settlements) {
    if (check.presence !== 'absent' && check.presence !== 'incomplete') continue;
    if (o.open && !o.settlementFailed) continue; // the cycle is still writing its settlement
    const fix: ReconcileFix | undefined = o.open
      ? { type: 'retry_settlement' }
      : purchaseId
        ? { type: 'record_settlement', target: check.target, purchaseId }
        : undefined;
    out.push({
      ...base,
      kind: 'settlement_missing',
      ...(purchaseId ? { purchaseId } : {}),
      ...(paidAtGateway ? { gatewayStatus: paidAtGateway.status } : {}),
      target: check.target.kind,
      severity: fix ? 'warning' : 'critical',
      ...(fix ? { fix } : {}),
      description:
        `the cycle is ${o.status}, but ${check.target.kind} has ` +
        `${check.presence === 'incomplete' ? 'only an incomplete' : 'no'} record of it` +
        (fix ? '' : ' and no purchase id is known to record it under'),
    });
  }
  return out;
}

/** Settlement records of a cycle that is not paid. */
function settlementsWithoutPaidCycle(
  o: CycleObservation,
  base: DiscrepancyBase,
  current: PurchaseFacts | undefined,
): Discrepancy[] {
  return o.settlements
    .filter((check) => check.presence === 'recorded' || check.presence === 'incomplete')
    .map((check) => ({
      ...base,
      kind: 'settlement_without_paid_cycle',
      ...(current ? { purchaseId: current.purchaseId, gatewayStatus: current.status } : {}),
      target: check.target.kind,
      severity: 'critical',
      description:
        `${check.target.kind} holds a record${check.externalId ? ` (${check.externalId})` : ''} for this cycle, ` +
        `but the cycle is ${o.status}, not paid`,
    }));
}

/** The gateway event the webhook ingress would signal for this Purchase. */
export function outcomeEvent(p: PurchaseFacts): OutcomeEvent {
  return {
    eventType: `reconciliation.purchase.${p.status}`,
    purchaseId: p.purchaseId,
    status: p.status,
    updatedOn: p.updatedOn,
    ...(p.declineCode ? { declineCode: p.declineCode } : {}),
    ...(p.declineMessage ? { declineMessage: p.declineMessage } : {}),
    ...(p.markedAsPaid ? { markedAsPaid: true } : {}),
  };
}

function lastWhere<T>(list: readonly T[], pred: (t: T) => boolean): T | undefined {
  for (let i = list.length - 1; i >= 0; i--) if (pred(list[i]!)) return list[i];
  return undefined;
}
