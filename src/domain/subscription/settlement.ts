/**
 * Settlement work: the reversals and restores that refunds and chargebacks queued (reversals.ts), written one at a
 * time, each once per (key, target), and recorded; and a target that records a paid cycle late (an operator's or the
 * reconciliation sweep's settlement retry), which is owed what was refunded or charged back meanwhile.
 */
import type { SettlementEntry, SettlementTargetRef } from '../billing-cycle';
import { SUBSCRIPTION_LIMITS, pushBounded } from './limits';
import { ask, type EventOf, type Out, type Step, type SubscriptionContext } from './events';
import { readRoundKey, restoreKeyOf, workKey } from './keys';
import { queuedFor } from './reversals';
import { findPaidCycle, type PaidCycleRecord, type SubscriptionMachineState } from './state';

function sameTarget(a: SettlementTargetRef, b: SettlementTargetRef): boolean {
  if (a.kind === 'gormic' && b.kind === 'gormic') return a.orderId === b.orderId;
  if (a.kind === 'activeplatform' && b.kind === 'activeplatform') return a.accountId === b.accountId;
  return false;
}

/** A target's record of a closed cycle written later, outside the cycle: it is owed the reversals made meanwhile. */
export function onSettlementRecorded(
  s: SubscriptionMachineState,
  e: EventOf<'settlement_recorded'>,
  ctx: SubscriptionContext,
  out: Out,
): void {
  const c = findPaidCycle(s, e.cycleId);
  if (!c || !ctx.reversalsOwedOnLaterRecord) return;
  const before = c.settlement.map((x) => ({ ...x }));
  const i = c.settlement.findIndex((x) => x.destination !== undefined && sameTarget(x.destination, e.target));
  const entry: SettlementEntry = {
    target: e.target.kind,
    status: 'recorded',
    externalId: e.externalId,
    destination: e.target,
  };
  if (i >= 0) c.settlement[i] = { ...c.settlement[i], ...entry };
  else c.settlement.push(entry);
  queueOwedReversals(s, c, before, ctx.now, out);
}

/**
 * A target recorded by a later report (its first record had failed) is owed what was refunded or charged back
 * meanwhile: one reversal per refund Payment (keyed as in the targets that reversed it at once), then the chargeback's
 * rest. Never twice: only a target that was not recorded before, and nothing already queued or written for it.
 */
export function queueOwedReversals(
  s: SubscriptionMachineState,
  c: PaidCycleRecord,
  before: SettlementEntry[],
  now: number,
  out: Out,
): void {
  c.settlement.forEach((rec, targetIndex) => {
    if (rec.status !== 'recorded' || !rec.destination || before[targetIndex]?.status === 'recorded') return;
    const owed = (key: string) =>
      !s.work.some((w) => w.key === key && w.targetIndex === targetIndex) &&
      !s.settlementReversals.some((r) => r.key === key && r.targetIndex === targetIndex && r.status !== 'failed');
    const left = () => c.amountMinor - (c.reversedMinor[targetIndex] ?? 0) - queuedFor(s, c.cycleId, targetIndex);
    let unknown = 0;
    for (const paymentId of c.refundPaymentIds) {
      const amount =
        c.refunds?.find((r) => r.paymentId === paymentId)?.amountMinor ??
        s.paymentEvents.find((p) => p.kind === 'refund' && p.cycleId === c.cycleId && p.paymentId === paymentId)
          ?.amountMinor;
      if (amount === undefined) {
        unknown++;
        continue;
      }
      const key = workKey({ kind: 'refund', cycleId: c.cycleId, paymentId });
      const reverse = Math.min(amount, left());
      if (reverse > 0 && owed(key))
        s.work.push({ key, kind: 'refund', cycleId: c.cycleId, targetIndex, amountMinor: reverse, paymentId });
    }
    if (c.chargedBack) {
      const key = workKey({ kind: 'chargeback', cycleId: c.cycleId, round: c.chargebackRound });
      const reverse = left();
      if (reverse > 0 && owed(key))
        s.work.push({ key, kind: 'chargeback', cycleId: c.cycleId, targetIndex, amountMinor: reverse });
    }
    if (unknown > 0)
      out.push({
        type: 'alert',
        code: 'settlement_reversal_failed',
        message: `${rec.target} recorded ${c.cycleId} after ${unknown} refund(s) whose amounts are no longer kept; reverse them there by hand`,
        severity: 'critical',
        details: { cycleId: c.cycleId, targetIndex, at: new Date(now).toISOString() },
      });
  });
}

/** A reversal or restore was written (or not): recorded, and what was reversed in the target is kept up to date. */
export function onSettlementWorkDone(
  s: SubscriptionMachineState,
  e: EventOf<'settlement_work_done'>,
  ctx: SubscriptionContext,
  out: Out,
): void {
  const now = ctx.now;
  const w = s.work.find((x) => x.key === e.key && x.targetIndex === e.targetIndex);
  if (!w) return;
  s.work = s.work.filter((x) => x !== w);
  const c = findPaidCycle(s, w.cycleId);
  const rec = c?.settlement[w.targetIndex];
  if (c && rec && e.ok) {
    // No holes: JSON (continue-as-new) would carry a hole as null.
    while (c.reversedMinor.length < w.targetIndex) c.reversedMinor.push(0);
    if (w.kind === 'restore')
      c.reversedMinor[w.targetIndex] = Math.max(0, (c.reversedMinor[w.targetIndex] ?? 0) - w.amountMinor);
    else c.reversedMinor[w.targetIndex] = (c.reversedMinor[w.targetIndex] ?? 0) + w.amountMinor;
  }
  pushBounded(
    s.settlementReversals,
    {
      key: w.key,
      cycleId: w.cycleId,
      kind: w.kind,
      target: rec?.target ?? 'activeplatform',
      targetIndex: w.targetIndex,
      status: e.ok ? (w.kind === 'restore' ? 'restored' : 'reversed') : 'failed',
      amountMinor: w.amountMinor,
      at: new Date(now).toISOString(),
      ...(e.externalId ? { externalId: e.externalId } : {}),
      ...(e.error ? { error: e.error } : {}),
    },
    SUBSCRIPTION_LIMITS.reversalsKept,
  );
  if (!e.ok) {
    // A chargeback not reversed here must not be restored here either (its restore may be queued already).
    const round = w.kind === 'chargeback' ? readRoundKey(w.key) : undefined;
    if (round) {
      const restoreKey = restoreKeyOf(round);
      s.work = s.work.filter((x) => !(x.key === restoreKey && x.targetIndex === w.targetIndex));
    }
    out.push({
      type: 'alert',
      code: 'settlement_reversal_failed',
      message: `${w.kind} of ${w.cycleId} could not be written in ${rec?.target ?? 'its target'}: ${e.error ?? ''}`,
      severity: 'critical',
      details: { cycleId: w.cycleId, targetIndex: w.targetIndex, key: w.key },
    });
  }
}

/** Plan step: the next queued reversal or restore (work whose target can no longer take it is dropped). */
export function nextSettlementWork(s: SubscriptionMachineState, out: Out): Step {
  const w = s.work[0];
  if (!w) return undefined;
  const c = findPaidCycle(s, w.cycleId);
  const rec = c?.settlement[w.targetIndex];
  if (!c || !rec?.destination) {
    s.work.shift();
    return 'again';
  }
  if (w.kind === 'restore') {
    return ask(s, out, {
      type: 'restore_settlement',
      key: w.key,
      cycleId: c.cycleId,
      targetIndex: w.targetIndex,
      target: rec.destination,
      purchaseId: c.purchaseId,
      amountMinor: w.amountMinor,
      currency: c.currency,
    });
  }
  if (!rec.externalId) {
    s.work.shift();
    return 'again';
  }
  // A chargeback after the first (round > 0) is told apart in the target by its round.
  const round = w.kind === 'chargeback' ? readRoundKey(w.key)?.round : undefined;
  return ask(s, out, {
    type: 'reverse_settlement',
    key: w.key,
    cycleId: c.cycleId,
    targetIndex: w.targetIndex,
    target: rec.destination,
    externalId: rec.externalId,
    purchaseId: c.purchaseId,
    amountMinor: w.amountMinor,
    currency: c.currency,
    kind: w.kind,
    ...(w.kind === 'refund' && w.paymentId ? { paymentId: w.paymentId } : {}),
    ...(round !== undefined && round !== 0 ? { paymentId: `round${round}` } : {}),
  });
}
