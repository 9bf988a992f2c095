/**
 * The money invariants, checked from what the gateway and the settlement targets recorded (their own ledgers) and
 * what Temporal says about each execution, never from the engine's opinion of itself. Pure: it reads one snapshot
 * of the world taken after a run has quiesced, and returns every violation with the ids it concerns.
 */
import { periodStart, type BillingSchedule } from '../../src/domain/calendar';
import type { LedgerEntry } from '../../src/sandbox/qorepay/server';
import type { OperationsAlert } from '../../src/shared/notifications';
import type { OpKind, PlannedSubscription } from './plan';

const PAID_LIKE = new Set(['paid', 'cleared', 'settled', 'pending_refund', 'refunded', 'chargeback', 'charged_back']);
const TERMINAL = new Set(['paid', 'marked_paid', 'failed', 'canceled']);

/** What happened to one merchant operation, as the driver saw it. */
export interface OpRecord {
  subscriptionId: string;
  kind: OpKind | 'repeat_refund';
  /** Simulated time the operation was sent and answered (epoch ms). */
  simAt: number;
  simAck?: number;
  /** Real time the answer arrived (epoch ms): compared with the gateway ledger's real timestamps. */
  realAck?: number;
  outcome: 'ok' | 'refused' | 'error' | 'skipped';
  detail?: string;
  cycleId?: string;
  purchaseId?: string;
  key?: string;
  amountMinor?: number;
  /** cancel: the subscription's next period index in the answer (no cycle at or after it may charge). */
  nextPeriodIndex?: number;
}

export interface CycleObservation {
  cycleId: string;
  subscriptionId: string;
  periodIndex: number;
  /** Temporal execution status: RUNNING, COMPLETED, FAILED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW, CANCELLED. */
  execution: string;
  /** Business status from the cycle's query or result. */
  status: string;
  purchaseIds: string[];
  paidPurchaseId?: string;
  amountMinor: number;
  paused: boolean;
}

export interface SubscriptionObservation {
  subscriptionId: string;
  execution: string;
  status: string;
  nextPeriodIndex: number;
  schedule: BillingSchedule;
  maxPeriods: number;
}

export interface SettlementRecordObservation {
  target: 'gormic' | 'activeplatform';
  /** Gormic: order id = subscription id; ActivePlatform: comment. */
  subscriptionId: string;
  type: 'receipt' | 'refund';
  /** Gormic transactionRef / ActivePlatform comment. */
  ref: string;
  amountMinor: number;
  status: string;
}

export interface GatewayPayment {
  purchaseId: string;
  type: string;
  amountMinor: number;
}

export interface ChaosWorld {
  subscriptions: PlannedSubscription[];
  observed: SubscriptionObservation[];
  cycles: CycleObservation[];
  ops: OpRecord[];
  ledger: LedgerEntry[];
  purchaseStatus: (purchaseId: string) => { status: string; total: number } | undefined;
  gatewayPayments: GatewayPayment[];
  settlement: SettlementRecordObservation[];
  alerts: OperationsAlert[];
  /** Simulated time when the world was read. */
  endSim: number;
}

export type ViolationKind =
  | 'double_charge'
  | 'charge_after_cancel'
  | 'charge_while_paused'
  | 'missing_cycle'
  | 'stuck_cycle'
  | 'failed_execution'
  | 'status_disagrees_with_gateway'
  | 'settlement_not_once'
  | 'settlement_without_paid_cycle'
  | 'over_reversal'
  | 'refund_not_idempotent';

export interface Violation {
  kind: ViolationKind;
  subscriptionId: string;
  ids: string[];
  detail: string;
}

/** Facts that are not violations but a reader of the report wants counted. */
export interface ChaosNotes {
  /** A charge that resolved after a cancel/pause was acknowledged, but was already pending at the gateway. */
  pendingAtGatewayAfterStop: number;
  /** A closed cycle whose Purchase was paid, with an alert raised for it (the reconciliation sweep's territory). */
  alertedDiscrepancies: number;
  /** Cycles open at the end but alerted, or held by a paused subscription. */
  openAlerted: number;
  heldByPause: number;
}

const parseCycle = (reference: string | null): { subscriptionId: string; periodIndex: number } | undefined => {
  const m = reference ? /^cycle:([A-Za-z0-9_-]+):(\d+)$/.exec(reference) : null;
  return m ? { subscriptionId: m[1]!, periodIndex: Number(m[2]) } : undefined;
};

/** Ledger entries that are charge requests, and those that only resolve an earlier pending request. */
function splitLedger(entries: LedgerEntry[]): { requests: LedgerEntry[]; resolutions: LedgerEntry[] } {
  const pending = new Set<string>();
  const requests: LedgerEntry[] = [];
  const resolutions: LedgerEntry[] = [];
  for (const e of entries) {
    if ((e.outcome === 'success' || e.outcome === 'declined') && pending.has(e.purchaseId)) {
      pending.delete(e.purchaseId);
      resolutions.push(e);
      continue;
    }
    if (e.outcome === 'pending') pending.add(e.purchaseId);
    requests.push(e);
  }
  return { requests, resolutions };
}

export function checkInvariants(w: ChaosWorld): { violations: Violation[]; notes: ChaosNotes } {
  const violations: Violation[] = [];
  const notes: ChaosNotes = { pendingAtGatewayAfterStop: 0, alertedDiscrepancies: 0, openAlerted: 0, heldByPause: 0 };
  const ours = new Set(w.subscriptions.map((s) => s.subscriptionId));
  const ledgerBySub = new Map<string, LedgerEntry[]>();
  for (const e of w.ledger) {
    const c = parseCycle(e.reference);
    if (!c || !ours.has(c.subscriptionId)) continue;
    const list = ledgerBySub.get(c.subscriptionId) ?? [];
    list.push(e);
    ledgerBySub.set(c.subscriptionId, list);
  }
  const alerted = new Set(w.alerts.map((a) => a.workflowId));
  const cyclesBySub = new Map<string, CycleObservation[]>();
  for (const c of w.cycles) cyclesBySub.set(c.subscriptionId, [...(cyclesBySub.get(c.subscriptionId) ?? []), c]);
  const opsBySub = new Map<string, OpRecord[]>();
  for (const o of w.ops) opsBySub.set(o.subscriptionId, [...(opsBySub.get(o.subscriptionId) ?? []), o]);

  for (const plan of w.subscriptions) {
    const id = plan.subscriptionId;
    const entries = ledgerBySub.get(id) ?? [];
    const { requests, resolutions } = splitLedger(entries);
    const ops = opsBySub.get(id) ?? [];
    const cycles = cyclesBySub.get(id) ?? [];
    const sub = w.observed.find((s) => s.subscriptionId === id);

    // 1. At most one successful charge per (subscription, period).
    const successes = new Map<string, LedgerEntry[]>();
    for (const e of entries.filter((x) => x.outcome === 'success'))
      successes.set(e.reference!, [...(successes.get(e.reference!) ?? []), e]);
    for (const [ref, list] of successes) {
      if (list.length > 1)
        violations.push({
          kind: 'double_charge',
          subscriptionId: id,
          ids: [ref, ...list.map((e) => e.purchaseId)],
          detail: `${list.length} successful charges for one period`,
        });
    }

    // 8. No charge after a cancel was acknowledged, or while paused (a charge already pending at the gateway is noted).
    const stopWindows: { from: number; to: number; kind: 'cancel' | 'pause'; minIndex: number }[] = [];
    let pausedAt: number | undefined;
    for (const o of ops.filter((x) => x.outcome === 'ok' && x.realAck !== undefined)) {
      if (o.kind === 'cancel_now') stopWindows.push({ from: o.realAck!, to: Infinity, kind: 'cancel', minIndex: 0 });
      if (o.kind === 'cancel_period_end' && o.nextPeriodIndex !== undefined)
        stopWindows.push({ from: o.realAck!, to: Infinity, kind: 'cancel', minIndex: o.nextPeriodIndex });
      if (o.kind === 'pause') pausedAt = o.realAck!;
      if (o.kind === 'resume' && pausedAt !== undefined) {
        stopWindows.push({ from: pausedAt, to: o.realAck!, kind: 'pause', minIndex: 0 });
        pausedAt = undefined;
      }
    }
    if (pausedAt !== undefined) stopWindows.push({ from: pausedAt, to: Infinity, kind: 'pause', minIndex: 0 });
    for (const win of stopWindows) {
      const inWindow = (e: LedgerEntry) => {
        const at = Date.parse(e.at);
        const idx = parseCycle(e.reference)?.periodIndex ?? 0;
        return at > win.from && at < win.to && idx >= win.minIndex;
      };
      for (const e of requests.filter(inWindow)) {
        violations.push({
          kind: win.kind === 'cancel' ? 'charge_after_cancel' : 'charge_while_paused',
          subscriptionId: id,
          ids: [e.reference!, e.purchaseId],
          detail: `charge request (${e.outcome}) at ${e.at}, ${Date.parse(e.at) - win.from} ms after the ${win.kind} was acknowledged`,
        });
      }
      notes.pendingAtGatewayAfterStop += resolutions.filter(inWindow).length;
    }

    // 2a. Every due period has a cycle (periods skipped while paused or unpaid end at a resume).
    if (sub) {
      const have = new Map(cycles.map((c) => [c.periodIndex, c]));
      const resumes = ops.filter((o) => o.kind === 'resume' && o.outcome === 'ok' && o.simAck !== undefined);
      for (let k = 0; k < sub.nextPeriodIndex; k++) {
        if (have.has(k)) continue;
        const startK = periodStart(sub.schedule, k);
        let next = k + 1;
        while (next < sub.nextPeriodIndex && !have.has(next)) next++;
        const gapEnd = next < sub.nextPeriodIndex ? periodStart(sub.schedule, next) : Infinity;
        const skippedByResume = resumes.some((r) => r.simAck! >= startK && r.simAck! <= gapEnd);
        if (!skippedByResume)
          violations.push({
            kind: 'missing_cycle',
            subscriptionId: id,
            ids: [`cycle:${id}:${k}`],
            detail: `period ${k} (due ${new Date(startK).toISOString()}) has no cycle`,
          });
      }
      const billing = sub.status === 'active' || sub.status === 'past_due' || sub.status === 'trialing';
      if (billing && sub.nextPeriodIndex < sub.maxPeriods) {
        const due = periodStart(sub.schedule, sub.nextPeriodIndex);
        if (due < w.endSim - 3_600_000)
          violations.push({
            kind: 'missing_cycle',
            subscriptionId: id,
            ids: [`subscription:${id}`],
            detail: `period ${sub.nextPeriodIndex} was due ${new Date(due).toISOString()} and has not started`,
          });
      }
      if (sub.execution === 'FAILED' || sub.execution === 'TERMINATED' || sub.execution === 'TIMED_OUT')
        violations.push({
          kind: 'failed_execution',
          subscriptionId: id,
          ids: [`subscription:${id}`],
          detail: `subscription execution ${sub.execution}: ${sub.status}`,
        });
    }

    for (const c of cycles) {
      // 2b. Every cycle terminal, or alerted (a cycle held by a paused subscription is waiting on the merchant).
      if (c.execution !== 'RUNNING' && c.execution !== 'COMPLETED') {
        violations.push({ kind: 'failed_execution', subscriptionId: id, ids: [c.cycleId], detail: c.execution });
        continue;
      }
      if (!TERMINAL.has(c.status)) {
        if (alerted.has(c.cycleId)) notes.openAlerted++;
        else if (c.paused) notes.heldByPause++;
        else
          violations.push({
            kind: 'stuck_cycle',
            subscriptionId: id,
            ids: [c.cycleId],
            detail: `status ${c.status} at the end, no alert`,
          });
      }
      // 5. The cycle's status agrees with the gateway.
      const ok = (successes.get(c.cycleId) ?? []).length;
      const paidAtGateway = c.purchaseIds.filter((p) => PAID_LIKE.has(w.purchaseStatus(p)?.status ?? ''));
      if (c.status === 'paid' && ok === 0)
        violations.push({
          kind: 'status_disagrees_with_gateway',
          subscriptionId: id,
          ids: [c.cycleId],
          detail: 'cycle paid, no successful charge in the gateway ledger',
        });
      if (c.status === 'marked_paid' && paidAtGateway.length === 0)
        violations.push({
          kind: 'status_disagrees_with_gateway',
          subscriptionId: id,
          ids: [c.cycleId],
          detail: 'cycle marked_paid, no paid Purchase at the gateway',
        });
      if ((c.status === 'failed' || c.status === 'canceled') && (ok > 0 || paidAtGateway.length > 0)) {
        if (alerted.has(c.cycleId)) notes.alertedDiscrepancies++;
        else
          violations.push({
            kind: 'status_disagrees_with_gateway',
            subscriptionId: id,
            ids: [c.cycleId, ...paidAtGateway],
            detail: `cycle ${c.status}, but the gateway took the money (${ok} successful charges) and no alert`,
          });
      }
      // 6. Each paid cycle recorded exactly once per settlement target; nothing recorded for an unpaid one.
      const paid = c.status === 'paid' || c.status === 'marked_paid';
      const targets: ('gormic' | 'activeplatform')[] = plan.activePlatform ? ['gormic', 'activeplatform'] : ['gormic'];
      for (const target of targets) {
        const records = w.settlement.filter(
          (r) =>
            r.target === target &&
            r.type === 'receipt' &&
            (target === 'gormic'
              ? r.subscriptionId === id && c.purchaseIds.includes(r.ref)
              : r.ref === `${c.cycleId}:settlement`),
        );
        if (paid && records.length !== 1 && TERMINAL.has(c.status))
          violations.push({
            kind: 'settlement_not_once',
            subscriptionId: id,
            ids: [c.cycleId, target],
            detail: `${records.length} ${target} records for a ${c.status} cycle`,
          });
        if (!paid && records.length > 0)
          violations.push({
            kind: 'settlement_without_paid_cycle',
            subscriptionId: id,
            ids: [c.cycleId, target],
            detail: `${records.length} ${target} records for a ${c.status} cycle`,
          });
      }
      // 7. Reversals never exceed what was paid, at the gateway and in each target.
      for (const p of c.purchaseIds) {
        const total = w.purchaseStatus(p)?.total ?? 0;
        const out = w.gatewayPayments.filter((g) => g.purchaseId === p).reduce((s, g) => s + g.amountMinor, 0);
        if (out > total)
          violations.push({
            kind: 'over_reversal',
            subscriptionId: id,
            ids: [c.cycleId, p],
            detail: `gateway refunds+chargebacks ${out} > paid ${total}`,
          });
        const receipts = w.settlement.filter((r) => r.target === 'gormic' && r.type === 'receipt' && r.ref === p);
        const reversed = w.settlement
          .filter((r) => r.target === 'gormic' && r.type === 'refund' && r.ref.startsWith(`${p}:`))
          .reduce((s, r) => s + r.amountMinor, 0);
        const recorded = receipts.reduce((s, r) => s + r.amountMinor, 0);
        if (reversed > recorded)
          violations.push({
            kind: 'over_reversal',
            subscriptionId: id,
            ids: [c.cycleId, p, 'gormic'],
            detail: `gormic reversals ${reversed} > recorded ${recorded}`,
          });
      }
    }

    // 9. A refund sent twice with the same idempotency key refunds once.
    const refundOps = ops.filter((o) => (o.kind === 'refund_full' || o.kind === 'refund_partial') && o.purchaseId);
    for (const purchaseId of new Set(refundOps.map((o) => o.purchaseId!))) {
      const keys = new Set(refundOps.filter((o) => o.purchaseId === purchaseId && o.key).map((o) => o.key!));
      const refunds = w.gatewayPayments.filter((g) => g.purchaseId === purchaseId && g.type === 'refund').length;
      if (refunds > keys.size)
        violations.push({
          kind: 'refund_not_idempotent',
          subscriptionId: id,
          ids: [purchaseId, ...keys],
          detail: `${refunds} gateway refunds for ${keys.size} distinct refund requests`,
        });
    }
  }
  return { violations, notes };
}

/** The event trail of one subscription: its plan, what the driver did, and what the gateway recorded. */
export function trailOf(w: ChaosWorld, subscriptionId: string): string {
  const plan = w.subscriptions.find((s) => s.subscriptionId === subscriptionId);
  const lines: string[] = [];
  if (plan)
    lines.push(
      `  plan: scenario=${plan.scenario} token=${plan.token} schedule=${plan.schedule.intervalCount} ${plan.schedule.intervalUnit} ` +
        `maxPeriods=${plan.maxPeriods} webhooks=${plan.fault}${plan.fault === 'delay' ? `(${plan.delayHours}h)` : ''} ` +
        `activePlatform=${plan.activePlatform}`,
    );
  for (const o of w.ops.filter((x) => x.subscriptionId === subscriptionId))
    lines.push(
      `  op ${new Date(o.simAt).toISOString()} ${o.kind} -> ${o.outcome}` +
        `${o.realAck ? ` (acknowledged ${new Date(o.realAck).toISOString()} real)` : ''}` +
        `${o.cycleId ? ` ${o.cycleId}` : ''}${o.detail ? `: ${o.detail}` : ''}`,
    );
  for (const e of w.ledger.filter((x) => x.reference?.startsWith(`cycle:${subscriptionId}:`)))
    lines.push(`  gateway ${e.at} ${e.reference} ${e.purchaseId} ${e.outcome}${e.code ? ` ${e.code}` : ''}`);
  for (const c of w.cycles.filter((x) => x.subscriptionId === subscriptionId))
    lines.push(`  cycle ${c.cycleId} ${c.execution}/${c.status} purchases=${c.purchaseIds.join(',')}`);
  for (const a of w.alerts.filter((x) => x.workflowId.includes(`:${subscriptionId}`)))
    lines.push(`  alert ${a.workflowId} ${a.code}: ${a.message}`);
  return lines.join('\n');
}
