/**
 * Stops (src/domain/billing-cycle/stop.ts): a cancel or a pause is confirmed only once no charge request can leave
 * the cycle, and a pause holds the hard-decline grace.
 */
import { CHARGE_FENCE_MS } from '../../../../src/domain/billing-cycle';
import { HOUR, TARGETS, soft, Cycle, purchase, types, charges, gatewayCalls } from './harness';

describe('a stop is confirmed only once no charge request can leave the cycle (defect 1)', () => {
  test('a cancel while a charge call waits in the task queue: withdrawn (not sent), acknowledged, never charged', () => {
    const c = new Cycle({ token: 'tok_old' });
    expect(types(c.start())).toEqual(['charge']);
    // The cancel arrives while the charge call is scheduled: no acknowledgement yet.
    expect(types(c.feedAfter({ type: 'cancel_requested', reason: 'customer' }, 10_000))).not.toContain('ack_stop');
    // The workflow withdraws the call; it never started, so no request left: the stop is real at once.
    const after = c.feedAfter({ type: 'charge_failed', reason: 'charge not sent: cancelled', notSent: true }, 1_000);
    expect(types(after)).toContain('ack_stop');
    expect(charges(after)).toEqual([]);
    expect(types(after)).toContain('cancel_purchase');
    expect(c.feedAfter({ type: 'purchase_canceled', purchase: purchase('cancelled') })).toContainEqual({
      type: 'finish',
    });
    expect(c.state.status).toBe('canceled');
    expect(c.state.attempts).toEqual([]);
  });

  test('a pause while a charge call waits: withdrawn, acknowledged, and charged again only after resume', () => {
    const c = new Cycle({ token: 'tok_old' });
    c.start();
    c.feedAfter({ type: 'hold', paused: true }, 5_000);
    const after = c.feedAfter({ type: 'charge_failed', reason: 'charge not sent', notSent: true }, 1_000);
    expect(types(after)).toEqual(['ack_stop']);
    expect(c.state.wakeAt).toBeUndefined();
    const resumed = c.feedAfter({ type: 'hold', paused: false }, HOUR);
    // Resume plans the charge again (after the quick-retry delay of a call that was not sent).
    const next = charges(resumed).length ? resumed : c.timer();
    expect(charges(next)).toHaveLength(1);
  });

  test('a charge call whose outcome is unknown holds the acknowledgement until no request of it can still leave', () => {
    const c = new Cycle({ token: 'tok_old' });
    c.start();
    c.feedAfter({ type: 'cancel_requested', reason: 'customer' }, 5_000);
    // The worker's heartbeat timed out: its request may be on its way.
    const failedAt = c.now + 20_000;
    const after = c.feedAfter({ type: 'charge_failed', reason: 'heartbeat timeout' }, 20_000);
    expect(types(after)).not.toContain('ack_stop');
    expect(gatewayCalls(after)).toEqual([]);
    expect(c.state.wakeAt).toBe(failedAt + CHARGE_FENCE_MS);
    const later = c.timer();
    expect(types(later)).toContain('ack_stop');
    // The cancel then reads first (the activity's GET), so a charge that landed makes the cycle paid, not canceled.
    expect(types(later)).toContain('cancel_purchase');
  });
});

describe('pause holds the hard-decline grace (defect 7)', () => {
  test('an action_required cycle does not fail while paused; the grace left runs on from resume', () => {
    const c = new Cycle({ token: 'tok_old' });
    c.start();
    c.feedAfter(
      { type: 'charge_declined', decline: { code: 'expired_card', message: '', declineClass: 'hard' } },
      1_000,
    );
    expect(c.state.status).toBe('action_required');
    const until = c.state.actionRequiredUntil!;
    const graceLeft = until - (c.now + HOUR);
    c.feedAfter({ type: 'hold', paused: true }, HOUR);
    expect(c.state.wakeAt).toBeUndefined(); // nothing to wake for while paused
    // Paused far beyond the grace: a timer (or any event) does not close the cycle.
    const during = c.feedAfter({ type: 'timer' }, 30 * 24 * HOUR);
    expect(types(during)).not.toContain('read_purchase');
    expect(c.state.closing).toBeUndefined();
    expect(c.state.status).toBe('action_required');
    c.feedAfter({ type: 'hold', paused: false }, HOUR);
    expect(c.state.actionRequiredUntil).toBe(c.now + graceLeft);
    expect(c.state.wakeAt).toBe(c.now + graceLeft);
    // A new card during the rest of the grace is charged.
    expect(charges(c.feedAfter({ type: 'token_updated', token: 'tok_new' }, HOUR))).toHaveLength(1);
  });
});

describe('every stop (cancel or pause) is acknowledged, and never while a charge is on its way', () => {
  it('a cancel of a cycle waiting for its retry is acknowledged at once, and nothing is charged after it', () => {
    const c = new Cycle({ settlementTargets: TARGETS });
    c.start();
    c.feed({ type: 'charge_declined', decline: soft });
    const cmds = c.feed({ type: 'cancel_requested', reason: 'customer' }, 1);
    expect(types(cmds).filter((t) => t === 'ack_stop')).toHaveLength(1);
    c.feed({ type: 'purchase_canceled', purchase: purchase('cancelled') });
    c.feed({ type: 'timer' }, 48);
    expect(c.charges()).toHaveLength(1);
  });

  it('a cancel that arrives while a charge is in flight is acknowledged right after that charge answers', () => {
    const c = new Cycle({ settlementTargets: TARGETS });
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
    const c = new Cycle({ settlementTargets: TARGETS });
    c.start();
    expect(types(c.feed({ type: 'hold', paused: true }))).not.toContain('ack_stop');
    expect(types(c.feed({ type: 'charge_declined', decline: soft }))).toContain('ack_stop');
    c.feed({ type: 'timer' }, 30);
    expect(c.charges()).toHaveLength(1);
    expect(types(c.feed({ type: 'hold', paused: false }, 31))).toContain('charge');
  });
});
