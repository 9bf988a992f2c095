/**
 * The billing cycle's money rules, each checked by what it means for the customer, the merchant or the books. Each
 * test fails when its rule is broken: they were written against the rule mutations of the money review (C6, C9, C10,
 * C12, C13, C14; docs/mutation.md lists which test catches which) and confirmed to fail on each.
 */
import {
  decideCycle,
  initialCycleState,
  type CycleCommand,
  type CycleEvent,
  type CycleMachineState,
  type DeclineDetails,
  type PurchaseFacts,
  type SettlementTargetRef,
} from '../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY, type DunningPolicy } from '../../../src/domain/dunning';

const T0 = Date.UTC(2026, 5, 1, 8, 0, 0);
const HOUR = 60 * 60 * 1000;
const TARGETS: SettlementTargetRef[] = [
  { kind: 'activeplatform', accountId: 'acc-1', paymentMethodId: 7 },
  { kind: 'gormic', orderId: 'ord-1' },
];

const soft: DeclineDetails = { code: 'insufficient_funds', message: 'no funds', declineClass: 'soft' };
const hard: DeclineDetails = { code: 'expired_card', message: 'expired', declineClass: 'hard' };

/** Feeds events one at a time, each at its own time, and keeps every command the machine issued. */
class Cycle {
  state: CycleMachineState;
  now = T0;
  readonly commands: CycleCommand[] = [];

  constructor(
    readonly policy: DunningPolicy = DEFAULT_DUNNING_POLICY,
    settlementTargets: SettlementTargetRef[] = TARGETS,
  ) {
    this.state = initialCycleState({ token: 'tok_a', amountMinor: 2_500, settlementTargets });
  }

  feed(event: CycleEvent, atHours?: number): CycleCommand[] {
    if (atHours !== undefined) this.now = T0 + atHours * HOUR;
    const d = decideCycle(this.state, event, { now: this.now, policy: this.policy });
    this.state = d.state;
    this.commands.push(...d.commands);
    return d.commands;
  }

  /** Started, Purchase created: the machine asks for the first charge. */
  start(): CycleCommand[] {
    this.feed({ type: 'started' }, 0);
    return this.feed({ type: 'purchase_created', purchase: purchase('created') });
  }

  /** Every time the machine asked for a charge. */
  charges(): CycleCommand[] {
    return this.commands.filter((c) => c.type === 'charge');
  }
}

const purchase = (status: string, extra: Partial<PurchaseFacts> = {}): PurchaseFacts => ({
  purchaseId: 'pur_1',
  status,
  updatedOn: Math.floor(T0 / 1000),
  ...extra,
});
const types = (cmds: CycleCommand[]): string[] => cmds.map((c) => c.type);
const settlementWrites = (cmds: CycleCommand[]) => cmds.filter((c) => c.type === 'record_settlement');
const alerts = (cmds: CycleCommand[], code: string) => cmds.filter((c) => c.type === 'alert' && c.code === code);

/** A cycle whose card is hard-declined and whose grace passes without a new card: it ends failed. */
function failedCycle(): Cycle {
  const c = new Cycle();
  c.start();
  c.feed({ type: 'charge_declined', decline: hard });
  c.feed({ type: 'timer' }, DEFAULT_DUNNING_POLICY.hardDeclineGraceHours);
  c.feed({ type: 'purchase_read', purchase: purchase('error', { declineCode: 'expired_card' }) });
  expect(c.state.status).toBe('failed');
  return c;
}

/** A cycle canceled while it waited for its next soft retry: it ends canceled. */
function canceledCycle(): Cycle {
  const c = new Cycle();
  c.start();
  c.feed({ type: 'charge_declined', decline: soft });
  c.feed({ type: 'cancel_requested', reason: 'customer left' }, 2);
  c.feed({ type: 'purchase_canceled', purchase: purchase('cancelled') });
  expect(c.state.status).toBe('canceled');
  return c;
}

describe('settlement is recorded only for money the cycle took', () => {
  it('a paid cycle records its payment once in every settlement target, then reports and finishes', () => {
    const c = new Cycle();
    c.start();
    const afterPay = c.feed({ type: 'charged', outcome: 'paid', purchase: purchase('paid') });
    expect(settlementWrites(afterPay)).toEqual([
      { type: 'record_settlement', index: 0, target: TARGETS[0], purchaseId: 'pur_1' },
    ]);
    const second = c.feed({ type: 'settlement_recorded', index: 0, externalId: 'ap-1' });
    expect(settlementWrites(second)).toEqual([
      { type: 'record_settlement', index: 1, target: TARGETS[1], purchaseId: 'pur_1' },
    ]);
    const done = c.feed({ type: 'settlement_recorded', index: 1, externalId: 'gm-1' });
    expect(types(done)).toEqual(['report', 'finish']);
    expect(settlementWrites(c.commands)).toHaveLength(2);
  });

  it('a failed cycle writes nothing to any settlement target', () => {
    const c = failedCycle();
    expect(settlementWrites(c.commands)).toEqual([]);
    expect(c.commands.slice(-2)).toEqual([{ type: 'report', final: true }, { type: 'finish' }]);
    expect(c.state.finished).toBe(true);
  });

  it('a canceled cycle writes nothing to any settlement target', () => {
    const c = canceledCycle();
    expect(settlementWrites(c.commands)).toEqual([]);
    expect(c.commands.slice(-2)).toEqual([{ type: 'report', final: true }, { type: 'finish' }]);
  });
});

describe('money that reaches a closed cycle is never silent', () => {
  it.each([
    ['failed', failedCycle],
    ['canceled', canceledCycle],
  ])('a %s cycle whose Purchase turns out paid raises one critical alert, and stays closed', (status, make) => {
    const c = make();
    const later = Math.floor(T0 / 1000) + 400 * 3600;
    const first = c.feed({ type: 'gateway_event', purchase: purchase('paid', { updatedOn: later }) });
    expect(alerts(first, 'paid_after_close')).toEqual([expect.objectContaining({ severity: 'critical' })]);
    expect(c.state.status).toBe(status);
    // The alert is about the money, once: a redelivery of the same webhook does not page operations again.
    const again = c.feed({ type: 'gateway_event', purchase: purchase('paid', { updatedOn: later + 60 }) });
    expect(alerts(again, 'paid_after_close')).toEqual([]);
    expect(settlementWrites(c.commands)).toEqual([]);
  });
});

describe('every stop (cancel or pause) is acknowledged, and never while a charge is on its way', () => {
  it('a cancel of a cycle waiting for its retry is acknowledged at once, and nothing is charged after it', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_declined', decline: soft });
    const cmds = c.feed({ type: 'cancel_requested', reason: 'customer' }, 1);
    expect(types(cmds).filter((t) => t === 'ack_stop')).toHaveLength(1);
    c.feed({ type: 'purchase_canceled', purchase: purchase('cancelled') });
    c.feed({ type: 'timer' }, 48);
    expect(c.charges()).toHaveLength(1);
  });

  it('a cancel that arrives while a charge is in flight is acknowledged right after that charge answers', () => {
    const c = new Cycle();
    expect(types(c.start())).toEqual(['charge']);
    expect(types(c.feed({ type: 'cancel_requested', reason: 'customer' }))).not.toContain('ack_stop');
    const answer = c.feed({ type: 'charge_declined', decline: soft });
    expect(types(answer)).toContain('ack_stop');
    expect(types(c.commands).filter((t) => t === 'ack_stop')).toHaveLength(1);
    c.feed({ type: 'purchase_canceled', purchase: purchase('cancelled') });
    expect(c.state.status).toBe('canceled');
    expect(c.charges()).toHaveLength(1);
  });

  it('a pause is acknowledged once no charge is in flight, and holds the retries until resumed', () => {
    const c = new Cycle();
    c.start();
    expect(types(c.feed({ type: 'hold', paused: true }))).not.toContain('ack_stop');
    expect(types(c.feed({ type: 'charge_declined', decline: soft }))).toContain('ack_stop');
    c.feed({ type: 'timer' }, 30);
    expect(c.charges()).toHaveLength(1);
    expect(types(c.feed({ type: 'hold', paused: false }, 31))).toContain('charge');
  });
});

describe('soft declines are retried on the dunning schedule, counted from the first attempt', () => {
  it('each retry comes at its offset after the first attempt, and the cycle fails when the offsets run out', () => {
    const c = new Cycle();
    c.start();
    const offsets = DEFAULT_DUNNING_POLICY.softRetryOffsetsHours;
    c.feed({ type: 'charge_declined', decline: soft });
    for (const offset of offsets) {
      expect(c.state.status).toBe('retry_scheduled');
      expect(c.state.nextAttemptAt).toBe(T0 + offset * HOUR);
      expect(c.state.wakeAt).toBe(T0 + offset * HOUR);
      // Not a moment early...
      expect(types(c.feed({ type: 'timer' }, offset - 0.5))).not.toContain('charge');
      // ...and on time.
      expect(c.feed({ type: 'timer' }, offset)).toContainEqual(expect.objectContaining({ type: 'charge' }));
      c.feed({ type: 'charge_declined', decline: soft });
    }
    expect(c.charges()).toHaveLength(offsets.length + 1);
    expect(c.state.closing?.status ?? c.state.status).toBe('failed');
  });

  it('a policy with other offsets is followed as given', () => {
    const policy: DunningPolicy = { ...DEFAULT_DUNNING_POLICY, softRetryOffsetsHours: [6, 30] };
    const c = new Cycle(policy);
    c.start();
    c.feed({ type: 'charge_declined', decline: soft });
    expect(c.state.nextAttemptAt).toBe(T0 + 6 * HOUR);
    c.feed({ type: 'timer' }, 6);
    c.feed({ type: 'charge_declined', decline: soft });
    expect(c.state.nextAttemptAt).toBe(T0 + 30 * HOUR);
  });
});

describe('a hard decline waits the grace period for a new card, then fails', () => {
  it.each([DEFAULT_DUNNING_POLICY.hardDeclineGraceHours, 48])(
    'with a grace of %ih: action required until then, failed (after a re-read) once it has passed',
    (grace) => {
      const c = new Cycle({ ...DEFAULT_DUNNING_POLICY, hardDeclineGraceHours: grace });
      c.start();
      c.feed({ type: 'charge_declined', decline: hard });
      expect(c.state.status).toBe('action_required');
      expect(c.state.actionRequiredUntil).toBe(T0 + grace * HOUR);
      expect(c.state.wakeAt).toBe(T0 + grace * HOUR);
      expect(types(c.feed({ type: 'timer' }, grace - 1))).toEqual([]);
      expect(c.state.status).toBe('action_required');
      expect(c.feed({ type: 'timer' }, grace)).toEqual([
        { type: 'read_purchase', purchaseId: 'pur_1', purpose: 'final' },
      ]);
      c.feed({ type: 'purchase_read', purchase: purchase('error', { declineCode: 'expired_card' }) });
      expect(c.state.status).toBe('failed');
      expect(c.state.failureKind).toBe('customer');
      expect(c.charges()).toHaveLength(1);
    },
  );

  it('a new card within the grace is charged at once', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_declined', decline: hard });
    const cmds = c.feed({ type: 'token_updated', token: 'tok_b' }, 100);
    expect(cmds).toContainEqual({ type: 'charge', purchaseId: 'pur_1', token: 'tok_b', attempt: 2 });
  });
});

describe('a Purchase in any status that means the money was taken makes the cycle paid', () => {
  // The QorePay statuses of a Purchase whose money was taken: paid, its later network stages, and the refund and
  // chargeback states that only a paid Purchase reaches (reference: qorepay.md, Purchase statuses).
  const moneyTaken = ['paid', 'cleared', 'settled', 'pending_refund', 'refunded', 'charged_back', 'chargeback'];

  it.each(moneyTaken.flatMap((status) => [[status, 'read'] as const, [status, 'webhook'] as const]))(
    '%s, seen by a %s while the charge is pending, concludes the cycle paid and settles it',
    (status, by) => {
      const c = new Cycle();
      c.start();
      c.feed({ type: 'charged', outcome: 'pending', purchase: purchase('pending_charge') });
      const fact = purchase(status, { updatedOn: Math.floor(T0 / 1000) + 3600 });
      c.feed({ type: 'timer' }, 1);
      const cmds =
        by === 'webhook'
          ? c.feed({ type: 'gateway_event', purchase: fact })
          : c.feed({ type: 'purchase_read', purchase: fact });
      expect(c.state.status).toBe('paid');
      expect(c.state.paidPurchaseId).toBe('pur_1');
      expect(settlementWrites(cmds)).toHaveLength(by === 'read' ? 1 : 0);
      expect(c.charges()).toHaveLength(1);
    },
  );
});

describe('no charge sooner than minHoursBetweenAttempts after the previous attempt, whatever asks for it', () => {
  it('a new card given an hour after a hard decline is charged four hours after that decline', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_declined', decline: hard });
    const early = c.feed({ type: 'token_updated', token: 'tok_b' }, 1);
    expect(types(early)).not.toContain('charge');
    expect(c.state.wakeAt).toBe(T0 + DEFAULT_DUNNING_POLICY.minHoursBetweenAttempts * HOUR);
    expect(types(c.feed({ type: 'timer' }, 3.9))).not.toContain('charge');
    expect(c.feed({ type: 'timer' }, 4)).toContainEqual(expect.objectContaining({ type: 'charge', token: 'tok_b' }));
  });
});

describe('a webhook is a hint: a decline is concluded only by a fresh read of the Purchase', () => {
  it('a stale decline webhook during a pending charge is checked by a read and concludes nothing', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charged', outcome: 'pending', purchase: purchase('pending_charge') });
    const hint = c.feed(
      {
        type: 'gateway_event',
        purchase: purchase('error', { declineCode: 'insufficient_funds', updatedOn: Math.floor(T0 / 1000) + 60 }),
      },
      0.1,
    );
    expect(hint).toEqual([{ type: 'read_purchase', purchaseId: 'pur_1', purpose: 'confirm' }]);
    expect(c.state.status).toBe('pending');
    const read = c.feed({
      type: 'purchase_read',
      purchase: purchase('pending_charge', { updatedOn: Math.floor(T0 / 1000) + 90 }),
    });
    expect(c.state.status).toBe('pending');
    expect(c.state.attempts.map((a) => a.outcome)).toEqual(['pending']);
    expect(read.filter((x) => x.type === 'notify')).toEqual([]);
  });
});
