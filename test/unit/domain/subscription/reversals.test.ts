/**
 * Example-based checks of the subscription machine's money rules (the property tests generate the orders; these name
 * the cases issue 9 reproduced): payment events reach settlement once, only for the cycle's own Purchase, pending
 * refunds reverse when they complete, and a reversed chargeback restores settlement.
 */
import {
  decideSubscription,
  initialSubscriptionState,
  type SubscriptionCommand,
  type SubscriptionContext,
  type SubscriptionEvent,
  type SubscriptionMachineState,
} from '../../../../src/domain/subscription';

const DAY = 24 * 3600_000;
const T0 = Date.UTC(2027, 0, 1, 9, 0);
const schedule = { intervalUnit: 'month' as const, intervalCount: 1, anchor: '2027-01-01T09:00', timeZone: 'UTC' };
const plan = { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro', priceMinor: 1000, quantity: 1 }] };
const target = { kind: 'gormic' as const, orderId: 'o-1' };

function ctx(now: number): SubscriptionContext {
  return { subscriptionId: 's1', now, schedule, escalation: 'mark_unpaid' };
}

/** Feeds events; answers every call at once with success, and returns all commands seen. */
function run(
  events: SubscriptionEvent[],
  now = T0,
): { state: SubscriptionMachineState; commands: SubscriptionCommand[] } {
  let state = initialSubscriptionState({ recurringToken: 'tok_a', plan, schedule, now });
  const commands: SubscriptionCommand[] = [];
  const queue = [...events];
  while (queue.length) {
    const d = decideSubscription(state, queue.shift()!, ctx(now));
    state = d.state;
    for (const c of d.commands) {
      commands.push(c);
      if (c.type === 'start_cycle') queue.unshift({ type: 'cycle_started', cycleId: c.cycleId, ok: true });
      if (c.type === 'signal_cycle') queue.unshift({ type: 'cycle_signaled', cycleId: c.cycleId, ok: true });
      if (c.type === 'reverse_settlement' || c.type === 'restore_settlement')
        queue.unshift({
          type: 'settlement_work_done',
          key: c.key,
          targetIndex: c.targetIndex,
          ok: true,
          externalId: 'x',
        });
      if (c.type === 'refund')
        queue.unshift({
          type: 'refund_answered',
          requestId: c.requestId,
          ok: true,
          status: 'pending_refund',
          ...(c.amountMinor !== undefined ? { amountMinor: c.amountMinor } : {}),
        });
    }
  }
  return { state, commands };
}

const paidReport: SubscriptionEvent = {
  type: 'cycle_reported',
  report: {
    cycleId: 'cycle:s1:0',
    periodIndex: 0,
    status: 'paid',
    final: true,
    purchaseId: 'p1',
    amountMinor: 1000,
    attemptTimes: [T0],
    token: 'tok_a',
    currency: 'EUR',
    settlement: [{ target: 'gormic', status: 'recorded', externalId: 'g-1', destination: target }],
  },
};
const kinds = (cs: SubscriptionCommand[], type: SubscriptionCommand['type']) => cs.filter((c) => c.type === type);

it('a refund webhook for another Purchase of the cycle id changes no settlement and raises an alert', () => {
  const { commands } = run([
    { type: 'started' },
    paidReport,
    {
      type: 'payment_event',
      kind: 'refund',
      cycleId: 'cycle:s1:0',
      purchaseId: 'p-other',
      paymentId: 'pay1',
      amountMinor: 1000,
    },
  ]);
  expect(kinds(commands, 'reverse_settlement')).toEqual([]);
  expect(commands.some((c) => c.type === 'alert' && c.code === 'payment_event_unmatched')).toBe(true);
});

it('a duplicated refund webhook reverses settlement once, keyed by the refund Payment id', () => {
  const ev: SubscriptionEvent = {
    type: 'payment_event',
    kind: 'refund',
    cycleId: 'cycle:s1:0',
    purchaseId: 'p1',
    paymentId: 'pay1',
    amountMinor: 400,
  };
  const { commands, state } = run([{ type: 'started' }, paidReport, ev, ev, ev]);
  expect(kinds(commands, 'reverse_settlement')).toEqual([
    expect.objectContaining({ key: 'cycle:s1:0:refund:pay1', amountMinor: 400, paymentId: 'pay1' }),
  ]);
  expect(kinds(commands, 'notify').filter((c) => c.type === 'notify' && c.event === 'cycle.refunded')).toHaveLength(1);
  expect(state.paidCycles[0]!.refundedMinor).toBe(400);
});

it('a pending refund reverses settlement only when its Payment is reported', () => {
  const { commands: before, state } = run([
    { type: 'started' },
    paidReport,
    { type: 'refund_requested', requestId: 'r1', cycleId: 'cycle:s1:0', amountMinor: 300 },
  ]);
  expect(kinds(before, 'refund')).toHaveLength(1);
  expect(kinds(before, 'reverse_settlement')).toEqual([]);
  expect(state.paidCycles[0]!.pendingRefunds).toEqual([{ requestId: 'r1', amountMinor: 300 }]);
  // The same request id again (a retried HTTP call) refunds nothing more.
  const d = decideSubscription(
    state,
    { type: 'refund_requested', requestId: 'r1', cycleId: 'cycle:s1:0', amountMinor: 300 },
    ctx(T0),
  );
  expect(kinds(d.commands, 'refund')).toEqual([]);
  const done = decideSubscription(
    d.state,
    {
      type: 'payment_event',
      kind: 'refund',
      cycleId: 'cycle:s1:0',
      purchaseId: 'p1',
      paymentId: 'pay9',
      amountMinor: 300,
    },
    ctx(T0),
  );
  expect(kinds(done.commands, 'reverse_settlement')).toEqual([expect.objectContaining({ amountMinor: 300 })]);
  expect(done.state.paidCycles[0]!.pendingRefunds).toEqual([]);
});

it('an API chargeback and its webhook are one record and one notification; a reversed chargeback restores settlement once', () => {
  const cb: SubscriptionEvent = {
    type: 'payment_event',
    kind: 'chargeback',
    cycleId: 'cycle:s1:0',
    purchaseId: 'p1',
    paymentId: 'cb1',
  };
  const rev: SubscriptionEvent = {
    type: 'payment_event',
    kind: 'chargeback_reversed',
    cycleId: 'cycle:s1:0',
    purchaseId: 'p1',
    paymentId: 'cbr1',
  };
  const { commands, state } = run([
    { type: 'started' },
    paidReport,
    {
      type: 'chargeback_requested',
      requestId: 'c1',
      cycleId: 'cycle:s1:0',
      reasonId: '1',
      arn: 'a',
      date: '1',
      reference: 'r',
    },
  ]);
  const registered = kinds(commands, 'register_chargeback')[0] as Extract<
    SubscriptionCommand,
    { type: 'register_chargeback' }
  >;
  const all: SubscriptionCommand[] = [];
  /** Applies an event and answers every settlement write it leads to. */
  const step = (from: SubscriptionMachineState, ev: SubscriptionEvent): SubscriptionMachineState => {
    let d = decideSubscription(from, ev, ctx(T0));
    all.push(...d.commands);
    for (;;) {
      const w = d.commands.find((c) => c.type === 'reverse_settlement' || c.type === 'restore_settlement') as
        Extract<SubscriptionCommand, { type: 'reverse_settlement' }> | undefined;
      if (!w) return d.state;
      d = decideSubscription(
        d.state,
        { type: 'settlement_work_done', key: w.key, targetIndex: w.targetIndex, ok: true, externalId: 'x' },
        ctx(T0),
      );
      all.push(...d.commands);
    }
  };
  let current = step(state, { type: 'chargeback_answered', requestId: registered.requestId, ok: true });
  for (const ev of [cb, cb, rev, rev]) current = step(current, ev);
  const s = { state: current };
  expect(kinds(all, 'reverse_settlement')).toEqual([
    expect.objectContaining({ kind: 'chargeback', amountMinor: 1000 }),
  ]);
  expect(kinds(all, 'restore_settlement')).toEqual([expect.objectContaining({ amountMinor: 1000 })]);
  const events = s.state.paymentEvents.map((p) => [p.kind, p.paymentId]);
  expect(events).toEqual([
    ['chargeback', 'cb1'],
    ['chargeback_reversed', 'cbr1'],
  ]);
  expect(all.filter((c) => c.type === 'notify').map((c) => (c as { event: string }).event)).toEqual([
    'subscription.chargeback',
    'cycle.chargeback_reversed',
  ]);
});

it('an anchor ten periods back starts with the period that contains the creation time', () => {
  const created = T0 + 300 * DAY;
  const { commands } = run([{ type: 'started' }], created);
  const starts = kinds(commands, 'start_cycle') as Extract<SubscriptionCommand, { type: 'start_cycle' }>[];
  expect(starts.map((c) => c.periodIndex)).toEqual([9]);
});

it('a cycle that closed without reporting (terminated by an operator) is marked lost and alerted at the daily check', () => {
  let state = initialSubscriptionState({ recurringToken: 'tok_a', plan, schedule, now: T0 });
  let d = decideSubscription(state, { type: 'started' }, ctx(T0));
  const start = d.commands.find((c) => c.type === 'start_cycle') as Extract<
    SubscriptionCommand,
    { type: 'start_cycle' }
  >;
  d = decideSubscription(d.state, { type: 'cycle_started', cycleId: start.cycleId, ok: true }, ctx(T0));
  state = d.state;
  expect(state.wakeAt).toBeLessThanOrEqual(T0 + DAY); // the liveness check is scheduled
  // A day later the check pings the cycle; the signal fails because the cycle is gone.
  d = decideSubscription(state, { type: 'timer' }, ctx(T0 + DAY));
  expect(d.commands).toContainEqual(
    expect.objectContaining({ type: 'signal_cycle', cycleId: start.cycleId, signal: { kind: 'hold', paused: false } }),
  );
  d = decideSubscription(
    d.state,
    { type: 'cycle_signaled', cycleId: start.cycleId, ok: false, error: 'workflow not found' },
    ctx(T0 + DAY),
  );
  expect(d.state.cycles).toEqual([]);
  expect(d.state.recentCycles.map((c) => [c.cycleId, c.status])).toEqual([[start.cycleId, 'lost']]);
  expect(d.commands).toContainEqual(
    expect.objectContaining({ type: 'alert', code: 'cycle_lost', severity: 'critical' }),
  );
});
