/**
 * The money invariants, checked from what the gateway and the settlement targets recorded (their own ledgers) and
 * what Temporal says about each execution, never from the engine's opinion of itself. Pure: it reads one snapshot
 * of the world taken after a run has quiesced, and returns every violation with the ids it concerns.
 */
import { periodStart, type BillingSchedule } from '../../src/domain/calendar';
import type { LedgerEntry } from '../../src/sandbox/qorepay/server';
import type { OperationsAlert } from '../../src/shared/notifications';
import type { PaymentEventRecord } from '../../src/shared/subscription';
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
  /** cancel/pause: the answer's `cyclesStopping` (accepted, not yet in effect), and when the stop was in effect. */
  stopping?: string[];
  realEffective?: number;
  /** Refunds: what the engine answered; gateway_refund: the gateway's refund Payment. */
  answer?: { paymentId?: string; amountMinor: number };
}

export interface CycleObservation {
  cycleId: string;
  subscriptionId: string;
  periodIndex: number;
  /** Temporal execution status: RUNNING, COMPLETED, FAILED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW, CANCELLED. */
  execution: string;
  /** When the execution started and closed (simulated time in fast mode), epoch ms. */
  startedAt?: number;
  closedAt?: number;
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
  /** Refunds and chargebacks the subscription recorded. */
  paymentEvents: PaymentEventRecord[];
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
  id: string;
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
  /** How often the gateway answered `GET /purchases/{id}/` for a Purchase. */
  reads: (purchaseId: string) => number;
  /** Reads a Purchase may take per hour its cycle was open (fast mode: simulated hours), see READ_BOUND_BASE. */
  readsPerHour: number;
  /** Whether a reconciliation sweep (or an operator's settlement retry) ran after the settlement target recovered. */
  recoveryRan: boolean;
  /**
   * Ids (Payment or Purchase) of webhook deliveries the fault layer dropped: lost for good, since the gateway saw a 2xx
   * and the reconciliation sweep does not look for refunds the engine never heard of.
   */
  lostWebhooks: Set<string>;
}

/** Reads of one Purchase allowed whatever its cycle's life (the first reads of a charge, the close, the sweep). */
export const READ_BOUND_BASE = 20;

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
  | 'refund_not_idempotent'
  // issue 20's conditions (plan.ts CHAOS_CONDITIONS)
  | 'adopted_foreign_refund'
  | 'refund_exceeds_gateway'
  | 'payment_event_not_recorded'
  | 'new_card_forgotten'
  | 'reads_unbounded'
  | 'held_money_as_no_money'
  | 'reversal_missing_at_target';

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
    // A stop is in effect from an answer without `cyclesStopping` (the answer claims it), or from when the driver read
    // it gone; a stop whose cycles never confirmed opens no window (it was answered as not in effect, never claimed).
    for (const o of ops.filter((x) => x.outcome === 'ok' && x.realAck !== undefined)) {
      const stopKind = o.kind === 'cancel_now' || o.kind === 'cancel_period_end' || o.kind === 'pause';
      if (stopKind && o.realEffective === undefined) continue;
      if (o.kind === 'cancel_now')
        stopWindows.push({ from: o.realEffective!, to: Infinity, kind: 'cancel', minIndex: 0 });
      if (o.kind === 'cancel_period_end' && o.nextPeriodIndex !== undefined)
        stopWindows.push({ from: o.realEffective!, to: Infinity, kind: 'cancel', minIndex: o.nextPeriodIndex });
      if (o.kind === 'pause') pausedAt = o.realEffective!;
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
          detail: `charge request (${e.outcome}) at ${e.at}, ${Date.parse(e.at) - win.from} ms after the ${win.kind} was in effect`,
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

    // 9. A refund sent twice with the same idempotency key refunds once (refunds made at the gateway are not ours).
    const refundOps = ops.filter((o) => (o.kind === 'refund_full' || o.kind === 'refund_partial') && o.purchaseId);
    const atGateway = new Set(
      ops.filter((o) => o.kind === 'gateway_refund' && o.answer).map((o) => o.answer!.paymentId),
    );
    for (const purchaseId of new Set(refundOps.map((o) => o.purchaseId!))) {
      const keys = new Set(refundOps.filter((o) => o.purchaseId === purchaseId && o.key).map((o) => o.key!));
      const refunds = w.gatewayPayments.filter(
        (g) => g.purchaseId === purchaseId && g.type === 'refund' && !atGateway.has(g.id),
      ).length;
      if (refunds > keys.size)
        violations.push({
          kind: 'refund_not_idempotent',
          subscriptionId: id,
          ids: [purchaseId, ...keys],
          detail: `${refunds} gateway refunds for ${keys.size} distinct refund requests`,
        });
    }
    violations.push(...checkConditions(w, plan, { entries, resolutions, ops, cycles, sub, alerted }));
  }
  return { violations, notes };
}

/**
 * The invariants of issue 20's conditions. Those about refunds, reads and settlement hold for every subscription (a
 * condition only makes their case likely); the new-card rule needs its condition's sequence.
 */
function checkConditions(
  w: ChaosWorld,
  plan: PlannedSubscription,
  x: {
    entries: LedgerEntry[];
    resolutions: LedgerEntry[];
    ops: OpRecord[];
    cycles: CycleObservation[];
    sub: SubscriptionObservation | undefined;
    alerted: Set<string>;
  },
): Violation[] {
  const out: Violation[] = [];
  const id = plan.subscriptionId;
  const v = (kind: ViolationKind, ids: string[], detail: string) => out.push({ kind, subscriptionId: id, ids, detail });
  const purchases = new Set(x.cycles.flatMap((c) => c.purchaseIds));
  const foreign = new Set(
    x.ops.filter((o) => o.kind === 'gateway_refund' && o.outcome === 'ok').map((o) => o.answer!.paymentId!),
  );
  const events = x.sub?.paymentEvents ?? [];
  const subAlerted = w.alerts.some((a) => a.workflowId.includes(id));

  // Refunds through the engine: never answered with a refund it did not make, never more than it had refunded.
  const engineRefunds = x.ops.filter(
    (o) => (o.kind === 'refund_full' || o.kind === 'refund_partial') && o.outcome === 'ok' && o.answer,
  );
  for (const o of engineRefunds)
    if (o.answer!.paymentId && foreign.has(o.answer!.paymentId))
      v(
        'adopted_foreign_refund',
        [o.cycleId!, o.purchaseId!, o.answer!.paymentId],
        `refund ${o.key} answered with the gateway-side refund ${o.answer!.paymentId}`,
      );
  for (const purchaseId of new Set(engineRefunds.map((o) => o.purchaseId!))) {
    const answered = engineRefunds
      .filter((o) => o.purchaseId === purchaseId)
      .reduce((sum, o) => sum + o.answer!.amountMinor, 0);
    const made = w.gatewayPayments
      .filter((g) => g.purchaseId === purchaseId && g.type === 'refund' && !foreign.has(g.id))
      .reduce((sum, g) => sum + g.amountMinor, 0);
    if (answered > made)
      v(
        'refund_exceeds_gateway',
        [purchaseId],
        `the engine answered ${answered} refunded, the gateway refunded ${made} for its requests`,
      );
  }

  // Every refund or chargeback at the gateway reaches the subscription once (held until its cycle reports, never
  // dropped), unless the fault layer dropped its webhook (nothing can tell the engine then), or it was alerted.
  if (x.sub && !subAlerted) {
    for (const g of w.gatewayPayments.filter(
      (p) =>
        purchases.has(p.purchaseId) && (p.type === 'refund' || p.type === 'chargeback') && !w.lostWebhooks.has(p.id),
    )) {
      const recorded = events.filter((e) => e.paymentId === g.id).length;
      if (recorded !== 1)
        v(
          'payment_event_not_recorded',
          [g.purchaseId, g.id],
          `${g.type} ${g.id} of ${g.amountMinor} recorded ${recorded} times by the subscription`,
        );
    }
  }

  // new_card_pending_hard: a card given while the charge was pending is used once that charge declines.
  if (plan.condition === 'new_card_pending_hard') {
    const card = x.ops.find((o) => o.kind === 'new_card' && o.outcome === 'ok');
    const resolved = x.ops.find((o) => o.kind === 'resolve_pending' && o.outcome === 'ok');
    const decline = x.resolutions.find((e) => e.outcome === 'declined' && e.purchaseId === resolved?.purchaseId);
    const newToken = plan.ops.find((o) => o.kind === 'new_card')?.token;
    if (card && resolved && decline && card.realAck! < Date.parse(decline.at)) {
      const cycleId = resolved.cycleId!;
      const used = x.entries.some((e) => e.reference === cycleId && e.token === newToken);
      const cycle = x.cycles.find((c) => c.cycleId === cycleId);
      if (!used && !x.alerted.has(cycleId))
        v(
          'new_card_forgotten',
          [cycleId, decline.purchaseId],
          `the new card was given before the pending charge declined and never charged (cycle ${cycle?.status ?? 'unknown'})`,
        );
    }
  }

  for (const c of x.cycles) {
    // Every wait has a timer: a Purchase is read a bounded number of times per hour its cycle was open.
    const hours = Math.max(0, ((c.closedAt ?? w.endSim) - (c.startedAt ?? w.endSim)) / 3_600_000);
    const bound = Math.ceil(READ_BOUND_BASE + w.readsPerHour * hours);
    for (const p of c.purchaseIds) {
      const reads = w.reads(p);
      if (reads > bound)
        v(
          'reads_unbounded',
          [c.cycleId, p],
          `${reads} reads of the Purchase in ${hours.toFixed(1)} h (bound ${bound})`,
        );
    }
    // Money on hold or awaiting capture is not "no money": a cycle never closes unpaid on it.
    if (c.status === 'failed' || c.status === 'canceled') {
      const held = c.purchaseIds.filter((p) => ['hold', 'pending_capture'].includes(w.purchaseStatus(p)?.status ?? ''));
      if (held.length)
        v(
          'held_money_as_no_money',
          [c.cycleId, ...held],
          `cycle ${c.status} while its Purchase holds the money (${held.map((p) => w.purchaseStatus(p)?.status).join(', ')})`,
        );
    }
    // Every refund or chargeback the subscription recorded is reversed at each target holding the cycle's record
    // (once the target is back: after an outage only when a sweep or an operator's retry ran).
    if (!TERMINAL.has(c.status) || (plan.condition === 'target_outage' && !w.recoveryRan)) continue;
    for (const p of c.purchaseIds) {
      const receipt = w.settlement.some((r) => r.target === 'gormic' && r.type === 'receipt' && r.ref === p);
      if (!receipt) continue;
      const owed = events
        .filter((e) => e.purchaseId === p && (e.kind === 'refund' || e.kind === 'chargeback'))
        .reduce(
          (sum, e) => sum + (e.amountMinor ?? w.gatewayPayments.find((g) => g.id === e.paymentId)?.amountMinor ?? 0),
          0,
        );
      const restored = events.some((e) => e.purchaseId === p && e.kind === 'chargeback_reversed');
      const reversed = w.settlement
        .filter((r) => r.target === 'gormic' && r.type === 'refund' && r.ref.startsWith(`${p}:`))
        .reduce((sum, r) => sum + r.amountMinor, 0);
      if (!restored && reversed < owed && !x.alerted.has(c.cycleId) && !subAlerted)
        v(
          'reversal_missing_at_target',
          [c.cycleId, p, 'gormic'],
          `the subscription recorded ${owed} refunded or charged back, gormic reversed ${reversed}`,
        );
    }
  }
  return out;
}

/** The event trail of one subscription: its plan, what the driver did, and what the gateway recorded. */
export function trailOf(w: ChaosWorld, subscriptionId: string): string {
  const plan = w.subscriptions.find((s) => s.subscriptionId === subscriptionId);
  const lines: string[] = [];
  if (plan)
    lines.push(
      `  plan: scenario=${plan.scenario} token=${plan.token} schedule=${plan.schedule.intervalCount} ${plan.schedule.intervalUnit} ` +
        `maxPeriods=${plan.maxPeriods} webhooks=${plan.fault}${plan.fault === 'delay' ? `(${plan.delayHours}h)` : ''} ` +
        `activePlatform=${plan.activePlatform}${plan.condition ? ` condition=${plan.condition}` : ''}`,
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
  const purchases = new Set(w.cycles.filter((x) => x.subscriptionId === subscriptionId).flatMap((c) => c.purchaseIds));
  for (const g of w.gatewayPayments.filter((x) => purchases.has(x.purchaseId)))
    lines.push(`  gateway payment ${g.type} ${g.id} of ${g.amountMinor} on ${g.purchaseId}`);
  for (const e of w.observed.find((x) => x.subscriptionId === subscriptionId)?.paymentEvents ?? [])
    lines.push(`  recorded ${e.kind} ${e.paymentId ?? '?'} of ${e.amountMinor ?? '?'} on ${e.purchaseId}`);
  for (const r of w.settlement.filter((x) => x.subscriptionId === subscriptionId && x.type === 'refund'))
    lines.push(`  ${r.target} reversal ${r.ref} ${r.amountMinor}`);
  for (const a of w.alerts.filter((x) => x.workflowId.includes(`:${subscriptionId}`)))
    lines.push(`  alert ${a.workflowId} ${a.code}: ${a.message}`);
  return lines.join('\n');
}
