/**
 * The subscription's money rules, each checked by what it means for the customer, the merchant or the books: which
 * periods are billed around a pause and a period-end cancel, one escalation per failed cycle, refunds and chargebacks
 * reaching settlement for the whole reversal window (also after a cancel), one refund per refund Payment whichever of
 * the API's answer and the webhook comes first, and a paid cycle clearing past_due. Each test fails when its rule is
 * broken: they were written against the rule mutations of the money review (S1, S2, S4, S7, S8, S9, S11, S12;
 * docs/mutation.md lists which test catches which) and confirmed to fail on each.
 */
import fc from 'fast-check';
import type { SettlementEntry } from '../../../../src/domain/billing-cycle';
import { periodIndexAt, periodStart, type BillingSchedule } from '../../../../src/domain/calendar';
import {
  SUBSCRIPTION_LIMITS,
  decideSubscription,
  initialSubscriptionState,
  refundableMinor,
  type CycleReport,
  type EscalationPolicy,
  type SubscriptionCommand,
  type SubscriptionEvent,
  type SubscriptionMachineState,
} from '../../../../src/domain/subscription';

const DAY = 24 * 3600_000;
const HOUR = 3600_000;
const monthly: BillingSchedule = {
  intervalUnit: 'month',
  intervalCount: 1,
  anchor: '2027-01-01T09:00',
  timeZone: 'UTC',
};
const T0 = Date.UTC(2027, 0, 1, 9, 0);
const plan = { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro', priceMinor: 1000, quantity: 1 }] };
const gormic: SettlementEntry = {
  target: 'gormic',
  status: 'recorded',
  externalId: 'g-1',
  destination: { kind: 'gormic', orderId: 'o-1' },
};

interface Options {
  schedule?: BillingSchedule;
  escalation?: EscalationPolicy;
  maxPeriods?: number;
  createdAt?: number;
  /** Every cycle started is paid at once (its final report follows its start). */
  payAtOnce?: boolean;
}

/**
 * The subscription machine as the workflow drives it: every start and signal is answered at once with success, every
 * settlement reversal succeeds; refunds are answered by the test (`answer`). Time moves only forward.
 */
class Subscription {
  state: SubscriptionMachineState;
  now: number;
  readonly commands: SubscriptionCommand[] = [];
  /** Each cycle start: its period and when it was asked for. */
  readonly starts: { periodIndex: number; at: number }[] = [];
  readonly schedule: BillingSchedule;

  constructor(readonly options: Options = {}) {
    this.schedule = options.schedule ?? monthly;
    this.now = options.createdAt ?? T0;
    this.state = initialSubscriptionState({ recurringToken: 'tok', plan, schedule: this.schedule, now: this.now });
  }

  /** Feeds one event at `at` (ms), then answers the calls it led to (not refunds). Returns every command issued. */
  feed(e: SubscriptionEvent, at = this.now): SubscriptionCommand[] {
    if (at < this.now) throw new Error('time goes forward only');
    this.now = at;
    const issued: SubscriptionCommand[] = [];
    const queue: SubscriptionEvent[] = [e];
    while (queue.length) {
      const d = decideSubscription(this.state, queue.shift()!, {
        subscriptionId: 's1',
        now: this.now,
        schedule: this.schedule,
        escalation: this.options.escalation ?? 'mark_unpaid',
        maxPeriods: this.options.maxPeriods,
      });
      this.state = d.state;
      for (const c of d.commands) {
        issued.push(c);
        if (c.type === 'start_cycle') {
          this.starts.push({ periodIndex: c.periodIndex, at: this.now });
          queue.push({ type: 'cycle_started', cycleId: c.cycleId, ok: true });
          if (this.options.payAtOnce) queue.push(this.paidReport(c.cycleId));
        }
        if (c.type === 'signal_cycle') queue.push({ type: 'cycle_signaled', cycleId: c.cycleId, ok: true });
        if (c.type === 'reverse_settlement' || c.type === 'restore_settlement')
          queue.push({
            type: 'settlement_work_done',
            key: c.key,
            targetIndex: c.targetIndex,
            ok: true,
            externalId: 'x',
          });
      }
    }
    this.commands.push(...issued);
    return issued;
  }

  /** Fires the workflow's timer at every wake-up up to `until` (ms); returns the commands issued meanwhile. */
  runUntil(until: number): SubscriptionCommand[] {
    const issued: SubscriptionCommand[] = [];
    for (let i = 0; i < 1000 && this.state.wakeAt !== undefined && this.state.wakeAt <= until; i++) {
      if (this.state.finished) break;
      issued.push(...this.feed({ type: 'timer' }, Math.max(this.now, this.state.wakeAt)));
    }
    this.now = Math.max(this.now, until);
    return issued;
  }

  report(cycleId: string, status: CycleReport['status'], final: boolean, at = this.now): SubscriptionCommand[] {
    return this.feed(this.paidReport(cycleId, status, final, at), at);
  }

  paidReport(cycleId: string, status: CycleReport['status'] = 'paid', final = true, at = this.now): SubscriptionEvent {
    const periodIndex = Number(cycleId.split(':').pop());
    return {
      type: 'cycle_reported',
      report: {
        cycleId,
        periodIndex,
        status,
        final,
        amountMinor: 1000,
        attemptTimes: [at],
        token: 'tok',
        currency: 'EUR',
        ...(status === 'paid' ? { purchaseId: `pur-${periodIndex}`, settlement: [gormic] } : {}),
        ...(status === 'failed' ? { failureReason: 'declined', failureKind: 'customer' as const } : {}),
      },
    };
  }

  /** Period indexes the subscription started cycles for, in order. */
  billed(): number[] {
    return this.commands.flatMap((c) => (c.type === 'start_cycle' ? [c.periodIndex] : []));
  }
}

const of = <T extends SubscriptionCommand['type']>(cs: SubscriptionCommand[], type: T) =>
  cs.filter((c): c is Extract<SubscriptionCommand, { type: T }> => c.type === type);
const notices = (cs: SubscriptionCommand[], event: string) =>
  cs.filter((c) => c.type === 'notify' && c.event === event);
const refundEvent = (paymentId: string, amountMinor: number, cycle = 0): SubscriptionEvent => ({
  type: 'payment_event',
  kind: 'refund',
  cycleId: `cycle:s1:${cycle}`,
  purchaseId: `pur-${cycle}`,
  paymentId,
  amountMinor,
});

describe('pause: nothing is charged for a period that fell due during a pause', () => {
  const daily: BillingSchedule = { intervalUnit: 'day', intervalCount: 1, anchor: '2027-03-14T00:00', timeZone: 'UTC' };
  const start = Date.parse('2027-03-14T00:00:00Z');
  const horizonDays = 12;

  it('holds for any pauses and resumes; every period due while not paused is billed once, on time', () => {
    fc.assert(
      fc.property(
        // Pause/resume instants, in minutes after creation; never on a due time (those fall on whole days).
        fc.uniqueArray(fc.integer({ min: 1, max: horizonDays * 24 * 60 - 1 }), { maxLength: 8 }),
        (minutes) => {
          const toggles = [...minutes].sort((a, b) => a - b).map((m) => start + m * 60_000 + 30_000);
          const sub = new Subscription({ schedule: daily, createdAt: start, payAtOnce: true });
          sub.feed({ type: 'started' });
          const pauses: [number, number][] = [];
          toggles.forEach((at, i) => {
            sub.runUntil(at);
            if (i % 2 === 0) {
              sub.feed({ type: 'pause_requested' }, at);
              pauses.push([at, Infinity]);
            } else {
              sub.feed({ type: 'resume_requested' }, at);
              pauses[pauses.length - 1]![1] = at;
            }
          });
          const end = start + horizonDays * DAY + HOUR;
          sub.runUntil(end);
          const startedAt = new Map<number, number>();
          for (const { periodIndex, at } of sub.starts) {
            expect(startedAt.has(periodIndex)).toBe(false); // a period is billed once
            startedAt.set(periodIndex, at);
          }

          const duringPause = (t: number) => pauses.some(([p, r]) => t > p && t < r);
          for (let k = 0; periodStart(daily, k) <= end; k++) {
            const due = periodStart(daily, k);
            if (duringPause(due)) expect(startedAt.get(k)).toBeUndefined();
            else expect(startedAt.get(k)).toBe(due);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a resume in the middle of a period that fell due while paused bills the next period, not that one', () => {
    const sub = new Subscription();
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'paid', true);
    sub.feed({ type: 'pause_requested' }, T0 + 10 * DAY);
    sub.runUntil(Date.UTC(2027, 1, 20));
    const resumed = sub.feed({ type: 'resume_requested' }, Date.UTC(2027, 1, 20));
    expect(of(resumed, 'start_cycle')).toEqual([]);
    expect(sub.state.status).toBe('active');
    expect(sub.state.wakeAt).toBe(periodStart(monthly, 2));
    const march = sub.runUntil(periodStart(monthly, 2));
    expect(of(march, 'start_cycle').map((c) => c.periodIndex)).toEqual([2]);
    expect(sub.billed()).toEqual([0, 2]);
  });
});

describe('cancel at period end: the customer keeps the period, and no later period is billed', () => {
  it('the subscription stays active until the current period ends, then cancels instead of billing', () => {
    const sub = new Subscription();
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'paid', true);
    const asked = sub.feed({ type: 'cancel_requested', mode: 'period_end' }, T0 + 10 * DAY);
    expect(notices(asked, 'subscription.canceled')).toEqual([]);
    expect(sub.state.status).toBe('active');
    expect(sub.runUntil(periodStart(monthly, 1) - 1)).toEqual([]);
    expect(sub.state.status).toBe('active');
    const atEnd = sub.runUntil(periodStart(monthly, 1));
    expect(sub.state.status).toBe('canceled');
    expect(notices(atEnd, 'subscription.canceled')).toHaveLength(1);
    sub.runUntil(periodStart(monthly, 4));
    expect(sub.billed()).toEqual([0]);
  });

  it('asked while paused, it takes effect at the end of the current calendar period, not at once', () => {
    // Paused in January: February fell due while paused (not billed), so the machine's next period index still
    // points at February; the period the cancel belongs to is the calendar's (February, ending 1 March).
    const sub = new Subscription();
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'paid', true);
    sub.feed({ type: 'pause_requested' }, T0 + 5 * DAY);
    sub.runUntil(Date.UTC(2027, 1, 10));
    expect(periodIndexAt(monthly, sub.now)).toBe(1);
    sub.feed({ type: 'cancel_requested', mode: 'period_end' }, Date.UTC(2027, 1, 10));
    expect(sub.state.status).toBe('paused');
    expect(sub.state.cancelAt).toBe(periodStart(monthly, 2));
    sub.runUntil(periodStart(monthly, 2) - 1);
    expect(sub.state.status).toBe('paused');
    sub.runUntil(periodStart(monthly, 2));
    expect(sub.state.status).toBe('canceled');
    expect(sub.billed()).toEqual([0]);
  });
});

describe('escalation: one failed cycle escalates the subscription once', () => {
  it('a duplicated final report of a failed cycle does not make a resumed subscription unpaid again', () => {
    const sub = new Subscription({ escalation: 'mark_unpaid' });
    sub.feed({ type: 'started' });
    const failed = sub.report('cycle:s1:0', 'failed', true, T0 + 8 * DAY);
    expect(sub.state.status).toBe('unpaid');
    expect(notices(failed, 'subscription.unpaid')).toHaveLength(1);
    sub.feed({ type: 'resume_requested' }, T0 + 9 * DAY);
    expect(sub.state.status).toBe('active');
    // The cycle's report is delivered again (a retried activity, a replayed signal).
    const again = sub.report('cycle:s1:0', 'failed', true, T0 + 9 * DAY + HOUR);
    expect(notices(again, 'subscription.unpaid')).toEqual([]);
    expect(sub.state.status).toBe('active');
  });

  it('with keep_past_due, a cycle failing during a pause leaves the subscription paused and billing held', () => {
    const sub = new Subscription({ escalation: 'keep_past_due' });
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'retry_scheduled', false, T0 + HOUR);
    expect(sub.state.status).toBe('past_due');
    sub.feed({ type: 'pause_requested' }, T0 + 2 * DAY);
    sub.report('cycle:s1:0', 'failed', true, T0 + 9 * DAY);
    expect(sub.state.status).toBe('paused');
    sub.runUntil(periodStart(monthly, 3));
    expect(sub.state.status).toBe('paused');
    expect(sub.billed()).toEqual([0]);
  });
});

describe('past_due ends when the failing cycle is paid', () => {
  it('a soft-declined cycle makes the subscription past_due; its payment makes it active again', () => {
    const sub = new Subscription();
    sub.feed({ type: 'started' });
    const declined = sub.report('cycle:s1:0', 'retry_scheduled', false, T0 + HOUR);
    expect(sub.state.status).toBe('past_due');
    expect(notices(declined, 'subscription.past_due')).toHaveLength(1);
    sub.report('cycle:s1:0', 'paid', true, T0 + DAY);
    expect(sub.state.status).toBe('active');
  });
});

describe('the reversal window: refunds and chargebacks reach settlement for 180 days after payment', () => {
  const window = SUBSCRIPTION_LIMITS.reversalWindowDays;

  it('is 180 days', () => {
    expect(window).toBe(180);
  });

  it('a refund webhook and a refund request well inside the window are reversed in settlement', () => {
    const sub = new Subscription({ maxPeriods: 1 });
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'paid', true);
    const late = T0 + (window - 10) * DAY;
    const webhook = sub.feed(refundEvent('pay-1', 200), late);
    expect(of(webhook, 'reverse_settlement')).toEqual([
      expect.objectContaining({ cycleId: 'cycle:s1:0', amountMinor: 200, paymentId: 'pay-1' }),
    ]);
    const asked = sub.feed(
      { type: 'refund_requested', requestId: 'r1', cycleId: 'cycle:s1:0', amountMinor: 300 },
      late,
    );
    expect(of(asked, 'refund')).toEqual([expect.objectContaining({ purchaseId: 'pur-0', amountMinor: 300 })]);
  });

  it('after the window the cycle is out of reach: its refund event is alerted for a manual reversal', () => {
    const sub = new Subscription({ payAtOnce: true });
    sub.feed({ type: 'started' });
    sub.runUntil(T0 + (window + 1) * DAY);
    const late = sub.feed(refundEvent('pay-9', 500), sub.now);
    expect(of(late, 'reverse_settlement')).toEqual([]);
    expect(late).toContainEqual(expect.objectContaining({ type: 'alert', code: 'payment_event_unmatched' }));
    const asked = sub.feed({ type: 'refund_requested', requestId: 'r9', cycleId: 'cycle:s1:0' }, sub.now);
    expect(of(asked, 'refund')).toEqual([]);
  });

  it('a subscription whose last period is billed finishes once the window of its last payment has passed', () => {
    const sub = new Subscription({ maxPeriods: 1 });
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'paid', true);
    expect(sub.state.finished).toBe(false);
    expect(sub.state.wakeAt).toBe(T0 + window * DAY);
    expect(of(sub.runUntil(T0 + window * DAY - 1), 'finish')).toEqual([]);
    expect(of(sub.runUntil(T0 + window * DAY), 'finish')).toHaveLength(1);
  });

  it('a subscription canceled right after a payment stays open for refunds until the window ends', () => {
    const sub = new Subscription();
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'paid', true);
    const canceled = sub.feed({ type: 'cancel_requested', mode: 'now' }, T0 + DAY);
    expect(sub.state.status).toBe('canceled');
    expect(of(canceled, 'finish')).toEqual([]);
    const refund = sub.feed(refundEvent('pay-7', 1000), T0 + 90 * DAY);
    expect(of(refund, 'reverse_settlement')).toEqual([expect.objectContaining({ amountMinor: 1000 })]);
    expect(of(sub.runUntil(T0 + window * DAY - 1), 'finish')).toEqual([]);
    expect(of(sub.runUntil(T0 + window * DAY), 'finish')).toHaveLength(1);
  });
});

describe('a refund is one refund, whichever of the API answer and the webhook arrives first', () => {
  it('the webhook first, then the answer carrying the same Payment: refunded and reversed once', () => {
    const sub = new Subscription({ maxPeriods: 1 });
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'paid', true);
    const asked = sub.feed({ type: 'refund_requested', requestId: 'r1', cycleId: 'cycle:s1:0', amountMinor: 300 });
    expect(of(asked, 'refund')).toHaveLength(1);
    sub.feed(refundEvent('pay-1', 300), T0 + HOUR); // the webhook beats the activity's answer
    sub.feed({ type: 'refund_answered', requestId: 'r1', ok: true, paymentId: 'pay-1', amountMinor: 300 }, T0 + HOUR);
    const c = sub.state.paidCycles[0]!;
    expect(c.refundedMinor).toBe(300);
    expect(refundableMinor(c)).toBe(700);
    expect(of(sub.commands, 'reverse_settlement').map((r) => r.amountMinor)).toEqual([300]);
    expect(notices(sub.commands, 'cycle.refunded')).toHaveLength(1);
  });

  it('the answer first, then the webhook: the same', () => {
    const sub = new Subscription({ maxPeriods: 1 });
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'paid', true);
    sub.feed({ type: 'refund_requested', requestId: 'r1', cycleId: 'cycle:s1:0', amountMinor: 300 });
    sub.feed({ type: 'refund_answered', requestId: 'r1', ok: true, paymentId: 'pay-1', amountMinor: 300 }, T0 + HOUR);
    sub.feed(refundEvent('pay-1', 300), T0 + 2 * HOUR);
    expect(sub.state.paidCycles[0]!.refundedMinor).toBe(300);
    expect(of(sub.commands, 'reverse_settlement').map((r) => r.amountMinor)).toEqual([300]);
  });
});

describe('settlement never reverses more than was paid', () => {
  it('a chargeback after a partial refund reverses only what the refund left', () => {
    const sub = new Subscription({ maxPeriods: 1 });
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'paid', true);
    sub.feed(refundEvent('pay-1', 300), T0 + DAY);
    sub.feed(
      { type: 'payment_event', kind: 'chargeback', cycleId: 'cycle:s1:0', purchaseId: 'pur-0', paymentId: 'cb-1' },
      T0 + 2 * DAY,
    );
    const reversed = of(sub.commands, 'reverse_settlement');
    expect(reversed.map((r) => [r.kind, r.amountMinor])).toEqual([
      ['refund', 300],
      ['chargeback', 700],
    ]);
    expect(reversed.reduce((sum, r) => sum + r.amountMinor, 0)).toBe(1000);
  });
});

describe('a new card reaches the cycles in flight', () => {
  it('a cycle still billing is told the new token at once', () => {
    const sub = new Subscription();
    sub.feed({ type: 'started' });
    sub.report('cycle:s1:0', 'retry_scheduled', false, T0 + HOUR);
    const cmds = sub.feed({ type: 'token_updated', token: 'tok-new' }, T0 + 2 * HOUR);
    expect(of(cmds, 'signal_cycle')).toEqual([
      { type: 'signal_cycle', cycleId: 'cycle:s1:0', signal: { kind: 'token', token: 'tok-new' } },
    ]);
    // The next period's cycle starts with it too.
    sub.report('cycle:s1:0', 'paid', true, T0 + DAY);
    expect(of(sub.runUntil(periodStart(monthly, 1)), 'start_cycle')).toEqual([
      expect.objectContaining({ periodIndex: 1, token: 'tok-new' }),
    ]);
  });
});
