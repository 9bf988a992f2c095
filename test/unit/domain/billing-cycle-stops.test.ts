/**
 * Example tests of the billing-cycle machine for the round-3 money defects (issue 20): a stop that is real, the charge
 * fence after an unknown outcome, a new card given during a charge, pause and the hard-decline grace, and Purchase
 * statuses the machine did not name. Each sequence is the one the money review reproduced.
 */
import {
  CHARGE_FENCE_MS,
  decideCycle,
  initialCycleState,
  type CycleCommand,
  type CycleEvent,
  type CycleMachineState,
  type PurchaseFacts,
} from '../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY } from '../../../src/domain/dunning';

const T0 = Date.UTC(2027, 0, 1, 9, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

class Cycle {
  state: CycleMachineState;
  now = T0;
  constructor(
    token = 'tok_old',
    readonly legacyRules = false,
  ) {
    this.state = initialCycleState({ token, amountMinor: 1_000 });
  }
  feed(event: CycleEvent, advanceMs = 0): CycleCommand[] {
    this.now += advanceMs;
    const d = decideCycle(this.state, event, {
      now: this.now,
      policy: DEFAULT_DUNNING_POLICY,
      ...(this.legacyRules ? { legacyRules: true } : {}),
    });
    this.state = d.state;
    return d.commands;
  }
  start(): CycleCommand[] {
    this.feed({ type: 'started' });
    return this.feed({ type: 'purchase_created', purchase: purchase('created') });
  }
  /** Fires the machine's timer (at its wakeAt). */
  timer(): CycleCommand[] {
    if (this.state.wakeAt === undefined) throw new Error('no timer set');
    this.now = Math.max(this.now, this.state.wakeAt);
    return this.feed({ type: 'timer' });
  }
}

let updated = Math.floor(T0 / 1000);
const purchase = (status: string, extra: Partial<PurchaseFacts> = {}): PurchaseFacts => ({
  purchaseId: 'pur_1',
  status,
  updatedOn: ++updated,
  ...extra,
});
const types = (cmds: CycleCommand[]): string[] => cmds.map((c) => c.type);
const charges = (cmds: CycleCommand[]) => cmds.filter((c) => c.type === 'charge');
const gatewayCalls = (cmds: CycleCommand[]) =>
  cmds.filter((c) => ['charge', 'read_purchase', 'cancel_purchase', 'mark_paid', 'create_purchase'].includes(c.type));

describe('a stop is confirmed only once no charge request can leave the cycle (defect 1)', () => {
  test('a cancel while a charge call waits in the task queue: withdrawn (not sent), acknowledged, never charged', () => {
    const c = new Cycle();
    expect(types(c.start())).toEqual(['charge']);
    // The cancel arrives while the charge call is scheduled: no acknowledgement yet.
    expect(types(c.feed({ type: 'cancel_requested', reason: 'customer' }, 10_000))).not.toContain('ack_stop');
    // The workflow withdraws the call; it never started, so no request left: the stop is real at once.
    const after = c.feed({ type: 'charge_failed', reason: 'charge not sent: cancelled', notSent: true }, 1_000);
    expect(types(after)).toContain('ack_stop');
    expect(charges(after)).toEqual([]);
    expect(types(after)).toContain('cancel_purchase');
    expect(c.feed({ type: 'purchase_canceled', purchase: purchase('cancelled') })).toContainEqual({ type: 'finish' });
    expect(c.state.status).toBe('canceled');
    expect(c.state.attempts).toEqual([]);
  });

  test('a pause while a charge call waits: withdrawn, acknowledged, and charged again only after resume', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'hold', paused: true }, 5_000);
    const after = c.feed({ type: 'charge_failed', reason: 'charge not sent', notSent: true }, 1_000);
    expect(types(after)).toEqual(['ack_stop']);
    expect(c.state.wakeAt).toBeUndefined();
    const resumed = c.feed({ type: 'hold', paused: false }, HOUR);
    // Resume plans the charge again (after the quick-retry delay of a call that was not sent).
    const next = charges(resumed).length ? resumed : c.timer();
    expect(charges(next)).toHaveLength(1);
  });

  test('a charge call whose outcome is unknown holds the acknowledgement until no request of it can still leave', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'cancel_requested', reason: 'customer' }, 5_000);
    // The worker's heartbeat timed out: its request may be on its way.
    const failedAt = c.now + 20_000;
    const after = c.feed({ type: 'charge_failed', reason: 'heartbeat timeout' }, 20_000);
    expect(types(after)).not.toContain('ack_stop');
    expect(gatewayCalls(after)).toEqual([]);
    expect(c.state.wakeAt).toBe(failedAt + CHARGE_FENCE_MS);
    const later = c.timer();
    expect(types(later)).toContain('ack_stop');
    // The cancel then reads first (the activity's GET), so a charge that landed makes the cycle paid, not canceled.
    expect(types(later)).toContain('cancel_purchase');
  });
});

describe('two charge attempts never overlap (defect 12)', () => {
  test('after an unknown charge outcome nothing is sent to the gateway before the fence', () => {
    const c = new Cycle();
    c.start();
    const failedAt = c.now + 30_000;
    expect(gatewayCalls(c.feed({ type: 'charge_failed', reason: 'heartbeat timeout' }, 30_000))).toEqual([]);
    // Events that would ask for a call at once (retryNow, a new card, a markPaid) wait for the fence too.
    expect(gatewayCalls(c.feed({ type: 'token_updated', token: 'tok_new' }, 1_000))).toEqual([]);
    expect(gatewayCalls(c.feed({ type: 'mark_paid_requested', requestId: 'r1' }, 1_000))).toEqual([]);
    expect(c.state.wakeAt).toBe(failedAt + CHARGE_FENCE_MS);
    const next = c.timer();
    expect(c.now).toBeGreaterThanOrEqual(failedAt + CHARGE_FENCE_MS);
    expect(gatewayCalls(next)).toHaveLength(1);
  });

  test('a charge proven not sent is retried on the quick schedule, without the fence', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_failed', reason: 'window passed', notSent: true }, 1_000);
    expect(c.state.chargeSettlesAt).toBeUndefined();
    expect(c.state.wakeAt! - c.now).toBeLessThan(CHARGE_FENCE_MS);
  });

  test('legacy rules (histories before the patch) keep the quick retry', () => {
    const c = new Cycle('tok_old', true);
    c.start();
    c.feed({ type: 'charge_failed', reason: 'timeout' }, 1_000);
    expect(c.state.chargeSettlesAt).toBeUndefined();
    expect(c.state.wakeAt! - c.now).toBe(2_000);
  });
});

describe('a new card given while a charge is in flight or pending outlives its decline (defect 3)', () => {
  test('charging: the old card is hard-declined, the new card is charged next, and the decline is the old card’s', () => {
    const c = new Cycle();
    expect(charges(c.start())[0]).toMatchObject({ token: 'tok_old' });
    c.feed({ type: 'token_updated', token: 'tok_new' }, 1_000);
    const after = c.feed(
      { type: 'charge_declined', decline: { code: 'stolen_card', message: '', declineClass: 'hard' } },
      20_000,
    );
    expect(c.state.status).not.toBe('action_required');
    expect(after.some((x) => x.type === 'notify' && x.event === 'cycle.action_required')).toBe(false);
    expect(c.state.attempts.at(-1)).toMatchObject({ token: 'tok_old', outcome: 'declined' });
    expect(c.state.tokenChanged).toBe(true);
    const next = charges(after).length ? after : c.timer();
    expect(charges(next)).toEqual([expect.objectContaining({ token: 'tok_new' })]);
  });

  test('pending: the old card’s pending charge fails hard after the new card arrived; the new card is charged', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charged', outcome: 'pending', purchase: purchase('pending_charge') }, 1_000);
    c.feed({ type: 'token_updated', token: 'tok_new' }, 10 * MINUTE);
    expect(types(c.timer())).toEqual(['read_purchase']);
    const after = c.feed({ type: 'purchase_read', purchase: purchase('error', { declineCode: 'stolen_card' }) }, 500);
    expect(c.state.attempts.at(-1)).toMatchObject({ token: 'tok_old', outcome: 'declined', code: 'stolen_card' });
    const next = charges(after).length ? after : c.timer();
    expect(charges(next)).toEqual([expect.objectContaining({ token: 'tok_new' })]);
    c.feed({ type: 'charged', outcome: 'paid', purchase: purchase('paid') }, 1_000);
    expect(c.state.status).toBe('paid');
  });

  test('the old card’s decline does not count against the new card’s 30-day cap', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'token_updated', token: 'tok_new' }, 1_000);
    c.feed({ type: 'charge_declined', decline: { code: 'insufficient_funds', message: '', declineClass: 'soft' } }, 1);
    expect(c.state.attempts.filter((a) => a.token === 'tok_new')).toEqual([]);
  });
});

describe('pause holds the hard-decline grace (defect 7)', () => {
  test('an action_required cycle does not fail while paused; the grace left runs on from resume', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_declined', decline: { code: 'expired_card', message: '', declineClass: 'hard' } }, 1_000);
    expect(c.state.status).toBe('action_required');
    const until = c.state.actionRequiredUntil!;
    const graceLeft = until - (c.now + HOUR);
    c.feed({ type: 'hold', paused: true }, HOUR);
    expect(c.state.wakeAt).toBeUndefined(); // nothing to wake for while paused
    // Paused far beyond the grace: a timer (or any event) does not close the cycle.
    const during = c.feed({ type: 'timer' }, 30 * 24 * HOUR);
    expect(types(during)).not.toContain('read_purchase');
    expect(c.state.closing).toBeUndefined();
    expect(c.state.status).toBe('action_required');
    c.feed({ type: 'hold', paused: false }, HOUR);
    expect(c.state.actionRequiredUntil).toBe(c.now + graceLeft);
    expect(c.state.wakeAt).toBe(c.now + graceLeft);
    // A new card during the rest of the grace is charged.
    expect(charges(c.feed({ type: 'token_updated', token: 'tok_new' }, HOUR))).toHaveLength(1);
  });
});

describe('every Purchase status has a meaning and every wait a timer (defect 6)', () => {
  const pendingThenRead = (status: string) => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charged', outcome: 'pending', purchase: purchase('pending_charge') }, 1_000);
    c.timer();
    const cmds = c.feed({ type: 'purchase_read', purchase: purchase(status) }, 200);
    return { c, cmds };
  };

  test.each(['hold', 'pending_capture', 'pending_release', 'pending_execute', 'some_future_status'])(
    'a read showing %s while pending waits for the next poll (a timer), never re-reads at once',
    (status) => {
      const { c, cmds } = pendingThenRead(status);
      expect(types(cmds)).not.toContain('read_purchase');
      expect(c.state.status).toBe('pending');
      expect(c.state.wakeAt).toBeGreaterThan(c.now);
    },
  );

  test.each(['created', 'sent', 'viewed', 'overdue'])(
    'a read showing %s while pending: the pending charge was dropped; the attempt failed, the next is scheduled',
    (status) => {
      const { c, cmds } = pendingThenRead(status);
      expect(types(cmds)).not.toContain('read_purchase');
      expect(c.state.status).toBe('retry_scheduled');
      expect(c.state.attempts.at(-1)).toMatchObject({ outcome: 'declined', code: 'pending_charge_reverted' });
      expect(c.state.wakeAt).toBeGreaterThan(c.now);
    },
  );

  test.each(['hold', 'pending_capture'])(
    'at close, %s is money in flight: the cycle waits for the outcome instead of closing as "no money"',
    (status) => {
      const c = new Cycle();
      c.start();
      c.feed({ type: 'cancel_requested', reason: 'customer' }, 1_000);
      c.feed({ type: 'charge_failed', reason: 'charge not sent', notSent: true }, 1_000);
      const cmds = c.feed({ type: 'purchase_canceled', purchase: purchase(status) }, 500);
      expect(types(cmds)).not.toContain('finish');
      expect(c.state.status).toBe('pending');
      expect(c.state.wakeAt).toBeGreaterThan(c.now);
    },
  );

  test('preauthorized (a card check, no money) while pending: a fresh Purchase for the period', () => {
    const { c } = pendingThenRead('preauthorized');
    expect(c.state.needsNewPurchase).toBe(true);
    expect(c.state.status).toBe('retry_scheduled');
  });
});
