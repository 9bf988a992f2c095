/**
 * Example checks of the subscription machine for money that moves while its books are not yet complete (issue 20):
 * a target whose settlement failed and is recorded later still gets the reversals of refunds and chargebacks made
 * meanwhile (once), a refund or chargeback webhook that beats the cycle's final report is applied when the report
 * comes (not dropped), a refund whose webhook beats our own `pending_refund` answer reserves nothing, and a
 * chargeback's answer states what was recorded.
 */
import {
  decideSubscription,
  initialSubscriptionState,
  refundableMinor,
  type CycleReport,
  type SubscriptionCommand,
  type SubscriptionContext,
  type SubscriptionEvent,
  type SubscriptionMachineState,
} from '../../../../src/domain/subscription';

const DAY = 24 * 3600_000;
const T0 = Date.UTC(2027, 0, 1, 9, 0);
const schedule = { intervalUnit: 'month' as const, intervalCount: 1, anchor: '2027-01-01T09:00', timeZone: 'UTC' };
const plan = { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro', priceMinor: 1000, quantity: 1 }] };
const ap = { kind: 'activeplatform' as const, accountId: '7', paymentMethodId: 1 };
const gm = { kind: 'gormic' as const, orderId: 'o-1' };
const CYCLE = 'cycle:s1:0';

const ctx = (now: number): SubscriptionContext => ({
  subscriptionId: 's1',
  now,
  schedule,
  escalation: 'mark_unpaid',
  livenessOnDueTimes: true,
  reversalsOwedOnLaterRecord: true,
  holdEarlyPaymentEvents: true,
});

/** A subscription driven by hand: calls are answered only when a test says so (or `settle()` answers the routine ones). */
class Sub {
  state: SubscriptionMachineState;
  now = T0;
  commands: SubscriptionCommand[] = [];
  pending: SubscriptionCommand[] = [];
  constructor() {
    this.state = initialSubscriptionState({ recurringToken: 'tok', plan, schedule, now: T0 });
  }
  feed(e: SubscriptionEvent): SubscriptionCommand[] {
    const d = decideSubscription(this.state, e, ctx(this.now));
    this.state = d.state;
    this.commands.push(...d.commands);
    this.pending.push(...d.commands.filter((c) => !['notify', 'alert', 'finish'].includes(c.type)));
    return d.commands;
  }
  /** Answers starts, signals and settlement work with success, in order, until another call is next. */
  settle(): void {
    for (let c = this.pending[0]; c; c = this.pending[0]) {
      if (c.type === 'start_cycle') this.answer({ type: 'cycle_started', cycleId: c.cycleId, ok: true });
      else if (c.type === 'signal_cycle') this.answer({ type: 'cycle_signaled', cycleId: c.cycleId, ok: true });
      else if (c.type === 'reverse_settlement' || c.type === 'restore_settlement')
        this.answer({
          type: 'settlement_work_done',
          key: c.key,
          targetIndex: c.targetIndex,
          ok: true,
          externalId: `w-${c.key}-${c.targetIndex}`,
        });
      else return;
    }
  }
  answer(e: SubscriptionEvent): void {
    this.pending.shift();
    this.feed(e);
  }
  of<T extends SubscriptionCommand['type']>(type: T): Extract<SubscriptionCommand, { type: T }>[] {
    return this.commands.filter((c): c is Extract<SubscriptionCommand, { type: T }> => c.type === type);
  }
}

const report = (settlement: CycleReport['settlement']): SubscriptionEvent => ({
  type: 'cycle_reported',
  report: {
    cycleId: CYCLE,
    periodIndex: 0,
    status: 'paid',
    final: true,
    purchaseId: 'pur1',
    amountMinor: 1000,
    attemptTimes: [T0],
    token: 'tok',
    currency: 'EUR',
    ...(settlement ? { settlement } : {}),
  },
});
const apRecorded = {
  target: 'activeplatform' as const,
  status: 'recorded' as const,
  externalId: '11',
  destination: ap,
};
const gmFailed = { target: 'gormic' as const, status: 'failed' as const, error: 'order closed', destination: gm };
const gmRecorded = { target: 'gormic' as const, status: 'recorded' as const, externalId: 'g-1', destination: gm };

/** Reversals written, per target, as [target, kind, amount, paymentId]. */
const reversals = (sub: Sub) =>
  sub.of('reverse_settlement').map((c) => [c.target.kind, c.kind, c.amountMinor, c.paymentId ?? null]);

function started(): Sub {
  const sub = new Sub();
  sub.feed({ type: 'started' });
  sub.settle();
  return sub;
}

describe('a target recorded after its settlement had failed', () => {
  it('gets the reversal of a refund made meanwhile, once, keyed by the refund Payment', () => {
    const sub = started();
    sub.feed(report([apRecorded, gmFailed]));
    sub.settle();
    sub.now += 3600_000;
    sub.feed({ type: 'refund_requested', requestId: 'r1', cycleId: CYCLE, amountMinor: 300 });
    expect(sub.pending[0]).toMatchObject({ type: 'refund' });
    sub.answer({
      type: 'refund_answered',
      requestId: 'r1',
      ok: true,
      paymentId: 'P1',
      amountMinor: 300,
      status: 'success',
    });
    sub.settle();
    expect(reversals(sub)).toEqual([['activeplatform', 'refund', 300, 'P1']]);
    // The sweep (or an operator) retries the cycle's settlement: Gormic records the full 1000 and the cycle reports again.
    sub.now += 3600_000;
    sub.feed(report([apRecorded, gmRecorded]));
    sub.settle();
    expect(reversals(sub)).toEqual([
      ['activeplatform', 'refund', 300, 'P1'],
      ['gormic', 'refund', 300, 'P1'],
    ]);
    // A third report (a repeat) owes nothing more.
    sub.feed(report([apRecorded, gmRecorded]));
    sub.settle();
    expect(reversals(sub)).toHaveLength(2);
    expect(sub.state.paidCycles[0]!.reversedMinor).toEqual([300, 300]);
  });

  it('gets the reversal of a chargeback (what was left after a refund), and a refund before it, once each', () => {
    const sub = started();
    sub.feed(report([apRecorded, gmFailed]));
    sub.settle();
    sub.feed({
      type: 'payment_event',
      kind: 'refund',
      cycleId: CYCLE,
      purchaseId: 'pur1',
      paymentId: 'D1',
      amountMinor: 300,
    });
    sub.settle();
    sub.feed({ type: 'payment_event', kind: 'chargeback', cycleId: CYCLE, purchaseId: 'pur1', paymentId: 'CB1' });
    sub.settle();
    expect(reversals(sub)).toEqual([
      ['activeplatform', 'refund', 300, 'D1'],
      ['activeplatform', 'chargeback', 700, null],
    ]);
    sub.feed(report([apRecorded, gmRecorded]));
    sub.settle();
    sub.feed(report([apRecorded, gmRecorded]));
    sub.settle();
    expect(reversals(sub)).toEqual([
      ['activeplatform', 'refund', 300, 'D1'],
      ['activeplatform', 'chargeback', 700, null],
      ['gormic', 'refund', 300, 'D1'],
      ['gormic', 'chargeback', 700, null],
    ]);
    // Per target, what is reversed equals what was refunded plus charged back, never more than was recorded.
    expect(sub.state.paidCycles[0]!.reversedMinor).toEqual([1000, 1000]);
  });

  it('owes nothing for a chargeback that was reversed before the target recorded', () => {
    const sub = started();
    sub.feed(report([gmFailed]));
    sub.settle();
    sub.feed({ type: 'payment_event', kind: 'chargeback', cycleId: CYCLE, purchaseId: 'pur1', paymentId: 'CB1' });
    sub.feed({
      type: 'payment_event',
      kind: 'chargeback_reversed',
      cycleId: CYCLE,
      purchaseId: 'pur1',
      paymentId: 'CBR1',
    });
    sub.settle();
    sub.feed(report([gmRecorded]));
    sub.settle();
    expect(reversals(sub)).toEqual([]);
    expect(sub.of('restore_settlement')).toEqual([]);
  });
});

describe("a closed cycle's record written later by the reconciliation sweep", () => {
  it('gets the reversals of what was refunded or charged back meanwhile, once, and later refunds reverse it too', () => {
    const sub = started();
    sub.feed(report([apRecorded, gmFailed]));
    sub.settle();
    sub.feed({
      type: 'payment_event',
      kind: 'refund',
      cycleId: CYCLE,
      purchaseId: 'pur1',
      paymentId: 'D1',
      amountMinor: 300,
    });
    sub.settle();
    const recorded: SubscriptionEvent = {
      type: 'settlement_recorded',
      cycleId: CYCLE,
      target: gm,
      externalId: 'g-late',
    };
    sub.feed(recorded);
    sub.settle();
    sub.feed(recorded); // a second sweep finds it recorded: nothing more
    sub.settle();
    sub.feed({
      type: 'payment_event',
      kind: 'refund',
      cycleId: CYCLE,
      purchaseId: 'pur1',
      paymentId: 'D2',
      amountMinor: 100,
    });
    sub.settle();
    expect(reversals(sub)).toEqual([
      ['activeplatform', 'refund', 300, 'D1'],
      ['gormic', 'refund', 300, 'D1'],
      ['activeplatform', 'refund', 100, 'D2'],
      ['gormic', 'refund', 100, 'D2'],
    ]);
    expect(
      sub
        .of('reverse_settlement')
        .filter((c) => c.target.kind === 'gormic')
        .map((c) => c.externalId),
    ).toEqual(['g-late', 'g-late']);
    expect(sub.state.paidCycles[0]!.reversedMinor).toEqual([400, 400]);
  });
});

describe('a payment event that reaches the subscription before its cycle final report', () => {
  it('is held, then applied once when the report comes: settlement reversed, refundable reduced', () => {
    const sub = started();
    const ev: SubscriptionEvent = {
      type: 'payment_event',
      kind: 'refund',
      cycleId: CYCLE,
      purchaseId: 'pur1',
      paymentId: 'D1',
      amountMinor: 300,
    };
    const first = sub.feed(ev);
    expect(first.filter((c) => c.type === 'alert')).toEqual([]);
    sub.feed(ev); // a redelivery while held
    sub.feed(report([gmRecorded]));
    sub.settle();
    sub.feed(ev); // a redelivery after: a duplicate
    sub.settle();
    expect(reversals(sub)).toEqual([['gormic', 'refund', 300, 'D1']]);
    const c = sub.state.paidCycles[0]!;
    expect(c.refundedMinor).toBe(300);
    expect(c.refundPaymentIds).toEqual(['D1']);
    expect(refundableMinor(c)).toBe(700);
    expect(sub.of('notify').filter((n) => n.event === 'cycle.refunded')).toHaveLength(1);
    expect(sub.of('alert')).toEqual([]);
    expect(sub.state.heldPaymentEvents).toEqual([]);
  });

  it('a chargeback held for the report reverses settlement when it comes', () => {
    const sub = started();
    sub.feed({ type: 'payment_event', kind: 'chargeback', cycleId: CYCLE, purchaseId: 'pur1', paymentId: 'CB1' });
    sub.feed(report([gmRecorded]));
    sub.settle();
    expect(reversals(sub)).toEqual([['gormic', 'chargeback', 1000, null]]);
    expect(sub.state.paidCycles[0]!.chargedBack).toBe(true);
  });

  it('is alerted for good when the cycle reports unpaid, or another Purchase, or never within the hold', () => {
    const failed = started();
    failed.feed({ type: 'payment_event', kind: 'refund', cycleId: CYCLE, purchaseId: 'pur1', paymentId: 'D1' });
    failed.feed({
      type: 'cycle_reported',
      report: {
        cycleId: CYCLE,
        periodIndex: 0,
        status: 'failed',
        final: true,
        failureKind: 'customer',
        amountMinor: 1000,
        attemptTimes: [],
        token: 'tok',
      },
    });
    expect(failed.of('alert').map((a) => a.code)).toEqual(['payment_event_unmatched']);

    const other = started();
    other.feed({ type: 'payment_event', kind: 'refund', cycleId: CYCLE, purchaseId: 'pur-other', paymentId: 'D1' });
    other.feed(report([gmRecorded]));
    other.settle();
    expect(other.of('alert').map((a) => a.code)).toEqual(['payment_event_unmatched']);
    expect(reversals(other)).toEqual([]);

    const never = started();
    never.feed({ type: 'payment_event', kind: 'refund', cycleId: CYCLE, purchaseId: 'pur1', paymentId: 'D1' });
    never.now += 31 * DAY;
    never.feed({ type: 'timer' });
    expect(never.of('alert').map((a) => a.code)).toContain('payment_event_unmatched');
    expect(never.state.heldPaymentEvents).toEqual([]);
  });

  it('an event for a cycle that is not in flight is alerted at once, as before', () => {
    const sub = started();
    const cmds = sub.feed({
      type: 'payment_event',
      kind: 'refund',
      cycleId: 'cycle:s1:7',
      purchaseId: 'p',
      paymentId: 'X',
    });
    expect(cmds.filter((c) => c.type === 'alert').map((c) => c.type === 'alert' && c.code)).toEqual([
      'payment_event_unmatched',
    ]);
  });
});

it('a refund webhook that beats our own pending_refund answer reserves nothing (issue 20, 13)', () => {
  const sub = started();
  sub.feed(report([gmRecorded]));
  sub.settle();
  sub.feed({ type: 'refund_requested', requestId: 'r1', cycleId: CYCLE, amountMinor: 300 });
  expect(sub.pending[0]).toMatchObject({ type: 'refund' });
  // The gateway answers pending_refund and completes quickly: its webhook is processed before the answer.
  sub.feed({
    type: 'payment_event',
    kind: 'refund',
    cycleId: CYCLE,
    purchaseId: 'pur1',
    paymentId: 'P1',
    amountMinor: 300,
  });
  sub.answer({ type: 'refund_answered', requestId: 'r1', ok: true, status: 'pending_refund', amountMinor: 300 });
  sub.settle();
  const c = sub.state.paidCycles[0]!;
  expect(c.pendingRefunds).toEqual([]);
  expect(c.refundedMinor).toBe(300);
  expect(refundableMinor(c)).toBe(700);
  expect(reversals(sub)).toEqual([['gormic', 'refund', 300, 'P1']]);
  expect(sub.state.requests[0]!.result).toMatchObject({ amountMinor: 300, paymentId: 'P1' });
});

it('a chargeback after a partial refund answers what was recorded and reversed, not the cycle amount', () => {
  const sub = started();
  sub.feed(report([gmRecorded]));
  sub.settle();
  sub.feed({ type: 'refund_requested', requestId: 'r1', cycleId: CYCLE, amountMinor: 300 });
  sub.answer({
    type: 'refund_answered',
    requestId: 'r1',
    ok: true,
    paymentId: 'P1',
    amountMinor: 300,
    status: 'success',
  });
  sub.settle();
  sub.feed({
    type: 'chargeback_requested',
    requestId: 'cb1',
    cycleId: CYCLE,
    reasonId: 'r',
    arn: 'a',
    date: '1',
    reference: 'x',
  });
  expect(sub.pending[0]).toMatchObject({ type: 'register_chargeback' });
  sub.answer({ type: 'chargeback_answered', requestId: 'cb1', ok: true });
  sub.settle();
  const answer = sub.state.requests.find((q) => q.requestId === 'cb1')!.result!;
  expect(answer.amountMinor).toBe(700);
  const recorded = sub.state.paymentEvents.filter((p) => p.kind === 'chargeback');
  expect(recorded.map((p) => p.amountMinor)).toEqual([700]);
  expect(reversals(sub)).toEqual([
    ['gormic', 'refund', 300, 'P1'],
    ['gormic', 'chargeback', 700, null],
  ]);
});
