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
  const out: Discrepancy[] = [];
  const base = {
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

  if (o.status === 'failed' || o.status === 'canceled') {
    if (paidAtGateway) {
      out.push({
        ...base,
        kind: 'paid_on_closed_cycle',
        purchaseId: paidAtGateway.purchaseId,
        gatewayStatus: paidAtGateway.status,
        severity: 'critical',
        description:
          `the cycle ended ${o.status}, but purchase ${paidAtGateway.purchaseId} is ${paidAtGateway.status} at the ` +
          'gateway: money was taken and not recorded; refund it or record the period as paid',
      });
    }
  } else if (o.open && WAITING_CYCLE_STATUSES.includes(o.status)) {
    const known =
      paidAtGateway ??
      (o.status === 'pending' &&
      current &&
      !isChargePendingStatus(current.status) &&
      (isDeclinedPurchaseStatus(current.status) || isClosedPurchaseStatus(current.status))
        ? current
        : undefined);
    if (known) {
      out.push({
        ...base,
        kind: 'outcome_waiting',
        purchaseId: known.purchaseId,
        gatewayStatus: known.status,
        severity: 'warning',
        fix: { type: 'signal_outcome', event: outcomeEvent(known) },
        description: `the cycle is ${o.status}, but purchase ${known.purchaseId} is already ${known.status} at the gateway`,
      });
    }
  }

  if (isPaidCycleStatus(o.status)) {
    const purchaseId = o.paidPurchaseId ?? paidAtGateway?.purchaseId ?? current?.purchaseId;
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
  } else {
    for (const check of o.settlements) {
      if (check.presence !== 'recorded' && check.presence !== 'incomplete') continue;
      out.push({
        ...base,
        kind: 'settlement_without_paid_cycle',
        ...(current ? { purchaseId: current.purchaseId, gatewayStatus: current.status } : {}),
        target: check.target.kind,
        severity: 'critical',
        description:
          `${check.target.kind} holds a record${check.externalId ? ` (${check.externalId})` : ''} for this cycle, ` +
          `but the cycle is ${o.status}, not paid`,
      });
    }
  }
  return out;
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

// ---------------------------------------------------------------------------------------------------------------
// The summary of a sweep
// ---------------------------------------------------------------------------------------------------------------

/** Items kept in a summary (counts stay exact beyond it). */
export const SUMMARY_ITEM_LIMIT = 200;

export interface KindCounts {
  found: number;
  fixed: number;
  reported: number;
  fixFailed: number;
}

export interface ReconciliationSummary {
  /** Closed cycles were checked back to this instant (ISO); open ones always. */
  since: string;
  startedAt: string;
  finishedAt?: string;
  cyclesChecked: number;
  counts: Record<DiscrepancyKind, KindCounts>;
  items: ReconciliationItem[];
  /** Items beyond SUMMARY_ITEM_LIMIT (counted above, not listed). */
  itemsOmitted: number;
  /** Cycles whose checks could not be made (their state, the gateway or a target could not be read). */
  unchecked: { cycleId: string; reason: string }[];
  uncheckedOmitted: number;
}

export function emptySummary(since: string, startedAt: string): ReconciliationSummary {
  const counts = Object.fromEntries(
    DISCREPANCY_KINDS.map((k) => [k, { found: 0, fixed: 0, reported: 0, fixFailed: 0 }]),
  ) as Record<DiscrepancyKind, KindCounts>;
  return { since, startedAt, cyclesChecked: 0, counts, items: [], itemsOmitted: 0, unchecked: [], uncheckedOmitted: 0 };
}

/** The summary after one more batch of checked cycles. Pure: the input is not modified. */
export function addToSummary(
  s: ReconciliationSummary,
  batch: { checked: number; items: ReconciliationItem[]; unchecked: { cycleId: string; reason: string }[] },
): ReconciliationSummary {
  const next: ReconciliationSummary = JSON.parse(JSON.stringify(s)) as ReconciliationSummary;
  next.cyclesChecked += batch.checked;
  for (const item of batch.items) {
    const c = next.counts[item.kind];
    c.found++;
    if (item.outcome === 'fixed') c.fixed++;
    else if (item.outcome === 'reported') c.reported++;
    else c.fixFailed++;
    if (next.items.length < SUMMARY_ITEM_LIMIT) next.items.push(item);
    else next.itemsOmitted++;
  }
  for (const u of batch.unchecked) {
    if (next.unchecked.length < SUMMARY_ITEM_LIMIT) next.unchecked.push(u);
    else next.uncheckedOmitted++;
  }
  return next;
}

export function totalFound(s: ReconciliationSummary): number {
  return DISCREPANCY_KINDS.reduce((n, k) => n + s.counts[k].found, 0);
}

/** Discrepancies a person must look at: reported ones and fixes that did not take. */
export function needsAttention(s: ReconciliationSummary): number {
  return DISCREPANCY_KINDS.reduce((n, k) => n + s.counts[k].reported + s.counts[k].fixFailed, 0);
}

/** The summary as plain text, for the CLI, the Temporal UI and finance. `money` formats minor units. */
export function summaryText(
  s: ReconciliationSummary,
  money: (amountMinor: number, currency: string) => string,
): string {
  const lines: string[] = [];
  const n = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;
  lines.push(
    `Reconciliation ${s.finishedAt ? 'finished' : 'running'}: ${n(s.cyclesChecked, 'cycle')} checked ` +
      `(open ones, and closed since ${s.since}); started ${s.startedAt}${s.finishedAt ? `, finished ${s.finishedAt}` : ''}.`,
  );
  const found = totalFound(s);
  lines.push(
    found === 0
      ? 'No discrepancies.'
      : `${found === 1 ? '1 discrepancy' : `${found} discrepancies`}; ${needsAttention(s)} need a person ` +
          '(reported or not fixed).',
  );
  for (const k of DISCREPANCY_KINDS) {
    const c = s.counts[k];
    lines.push(
      `- ${DISCREPANCY_TITLES[k]}: ${c.found} (fixed ${c.fixed}, reported ${c.reported}, fix failed ${c.fixFailed})`,
    );
  }
  if (s.items.length) lines.push('', 'Items:');
  for (const i of s.items) {
    const period = i.periodStart ? `${i.periodStart.slice(0, 10)}..${(i.periodEnd ?? '').slice(0, 10)}` : '?';
    lines.push(
      `- [${i.outcome}] ${DISCREPANCY_TITLES[i.kind]}: subscription ${i.subscriptionId}, period ${i.periodIndex} ` +
        `(${period}), purchase ${i.purchaseId ?? 'none'}, ${money(i.amountMinor, i.currency)}` +
        `${i.target ? `, target ${i.target}` : ''}. ${i.description}${i.note ? ` (${i.note})` : ''}`,
    );
  }
  if (s.itemsOmitted) lines.push(`- ... and ${s.itemsOmitted} more (counted above)`);
  if (s.unchecked.length) lines.push('', 'Could not check:');
  for (const u of s.unchecked) lines.push(`- ${u.cycleId}: ${u.reason}`);
  if (s.uncheckedOmitted) lines.push(`- ... and ${s.uncheckedOmitted} more`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------------------------------------------

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** The longest window a sweep looks back over closed cycles. */
export const MAX_WINDOW_MS = 366 * UNIT_MS.d;

/** `30m`, `6h`, `7d` in ms; undefined when not such a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})(m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > 0 ? ms : undefined;
}

/**
 * `--since`: a duration back from `now` (`48h`, `7d`) or an ISO date or instant in the past, at most a year back.
 * Returns the instant (ISO), or the reason it is refused.
 */
export function parseSince(text: string, now: number): { ok: true; since: string } | { ok: false; message: string } {
  const duration = parseDuration(text);
  let at: number;
  if (duration !== undefined) at = now - duration;
  else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) at = Date.parse(text.trim());
  else return { ok: false, message: 'must be a duration (30m, 48h, 7d) or an ISO date or instant (2026-11-01)' };
  if (!Number.isFinite(at)) return { ok: false, message: 'is not a valid date' };
  if (at > now) return { ok: false, message: 'must be in the past' };
  if (now - at > MAX_WINDOW_MS) return { ok: false, message: 'must be at most 366 days back' };
  return { ok: true, since: new Date(at).toISOString() };
}
