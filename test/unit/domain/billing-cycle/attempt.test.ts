/**
 * Charge attempts and declines (src/domain/billing-cycle/attempt.ts): the charge fence after an unknown outcome, a
 * new card given during a charge, the dunning schedule of soft declines and the grace of hard ones, fraud blocks.
 */
import { CHARGE_FENCE_MS } from '../../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY, type DunningPolicy } from '../../../../src/domain/dunning';
import { T0, MINUTE, HOUR, TARGETS, soft, hard, Cycle, purchase, types, charges, gatewayCalls } from './harness';

describe('two charge attempts never overlap (defect 12)', () => {
  test('after an unknown charge outcome nothing is sent to the gateway before the fence', () => {
    const c = new Cycle({ token: 'tok_old' });
    c.start();
    const failedAt = c.now + 30_000;
    expect(gatewayCalls(c.feedAfter({ type: 'charge_failed', reason: 'heartbeat timeout' }, 30_000))).toEqual([]);
    // Events that would ask for a call at once (retryNow, a new card, a markPaid) wait for the fence too.
    expect(gatewayCalls(c.feedAfter({ type: 'token_updated', token: 'tok_new' }, 1_000))).toEqual([]);
    expect(gatewayCalls(c.feedAfter({ type: 'mark_paid_requested', requestId: 'r1' }, 1_000))).toEqual([]);
    expect(c.state.wakeAt).toBe(failedAt + CHARGE_FENCE_MS);
    const next = c.timer();
    expect(c.now).toBeGreaterThanOrEqual(failedAt + CHARGE_FENCE_MS);
    expect(gatewayCalls(next)).toHaveLength(1);
  });

  test('a charge proven not sent is retried on the quick schedule, without the fence', () => {
    const c = new Cycle({ token: 'tok_old' });
    c.start();
    c.feedAfter({ type: 'charge_failed', reason: 'window passed', notSent: true }, 1_000);
    expect(c.state.chargeSettlesAt).toBeUndefined();
    expect(c.state.wakeAt! - c.now).toBeLessThan(CHARGE_FENCE_MS);
  });

  test('legacy rules (histories before the patch) keep the quick retry', () => {
    const c = new Cycle({ token: 'tok_old', legacyRules: true });
    c.start();
    c.feedAfter({ type: 'charge_failed', reason: 'timeout' }, 1_000);
    expect(c.state.chargeSettlesAt).toBeUndefined();
    expect(c.state.wakeAt! - c.now).toBe(2_000);
  });
});

describe('a new card given while a charge is in flight or pending outlives its decline (defect 3)', () => {
  test('charging: the old card is hard-declined, the new card is charged next, and the decline is the old card’s', () => {
    const c = new Cycle({ token: 'tok_old' });
    expect(charges(c.start())[0]).toMatchObject({ token: 'tok_old' });
    c.feedAfter({ type: 'token_updated', token: 'tok_new' }, 1_000);
    const after = c.feedAfter(
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
    const c = new Cycle({ token: 'tok_old' });
    c.start();
    c.feedAfter({ type: 'charged', outcome: 'pending', purchase: purchase('pending_charge') }, 1_000);
    c.feedAfter({ type: 'token_updated', token: 'tok_new' }, 10 * MINUTE);
    expect(types(c.timer())).toEqual(['read_purchase']);
    const after = c.feedAfter(
      { type: 'purchase_read', purchase: purchase('error', { declineCode: 'stolen_card' }) },
      500,
    );
    expect(c.state.attempts.at(-1)).toMatchObject({ token: 'tok_old', outcome: 'declined', code: 'stolen_card' });
    const next = charges(after).length ? after : c.timer();
    expect(charges(next)).toEqual([expect.objectContaining({ token: 'tok_new' })]);
    c.feedAfter({ type: 'charged', outcome: 'paid', purchase: purchase('paid') }, 1_000);
    expect(c.state.status).toBe('paid');
  });

  test('the old card’s decline does not count against the new card’s 30-day cap', () => {
    const c = new Cycle({ token: 'tok_old' });
    c.start();
    c.feedAfter({ type: 'token_updated', token: 'tok_new' }, 1_000);
    c.feedAfter(
      { type: 'charge_declined', decline: { code: 'insufficient_funds', message: '', declineClass: 'soft' } },
      1,
    );
    expect(c.state.attempts.filter((a) => a.token === 'tok_new')).toEqual([]);
  });
});

describe('soft declines are retried on the dunning schedule, counted from the first attempt', () => {
  it('each retry comes at its offset after the first attempt, and the cycle fails when the offsets run out', () => {
    const c = new Cycle({ settlementTargets: TARGETS });
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
    const c = new Cycle({ policy, settlementTargets: TARGETS });
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
      const c = new Cycle({
        policy: { ...DEFAULT_DUNNING_POLICY, hardDeclineGraceHours: grace },
        settlementTargets: TARGETS,
      });
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
    const c = new Cycle({ settlementTargets: TARGETS });
    c.start();
    c.feed({ type: 'charge_declined', decline: hard });
    const cmds = c.feed({ type: 'token_updated', token: 'tok_b' }, 100);
    expect(cmds).toContainEqual({ type: 'charge', purchaseId: 'pur_1', token: 'tok_b', attempt: 2 });
  });
});

describe('a fraud block: counterexamples found by the property tests', () => {
  test('after a fraud block, a new card is charged on a fresh Purchase (no cancel of the blocked one)', () => {
    // Minimal counterexample: the charge is blocked (answered as a hard decline); a new token arrives; the charge
    // meets the blocked Purchase and is refused. The refusal used to count as another hard decline of the new card
    // (back to action_required, the new card never charged); a second new token then looped on cancel_purchase,
    // which the gateway refuses for a blocked Purchase, with no pause between calls.
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_declined', decline: { code: 'suspected_fraud', message: '', declineClass: 'hard' } });
    expect(c.state.status).toBe('action_required');
    expect(c.feed({ type: 'token_updated', token: 'tok_b' }, 5)).toMatchObject([{ type: 'charge', token: 'tok_b' }]);
    const refused = c.feed({
      type: 'charge_refused',
      purchase: purchase('blocked', { declineCode: 'suspected_fraud' }),
    });
    expect(types(refused)).toEqual(['create_purchase']);
    const next = c.feed({ type: 'purchase_created', purchase: { ...purchase('created'), purchaseId: 'pur_2' } });
    expect(next).toMatchObject([{ type: 'charge', purchaseId: 'pur_2', token: 'tok_b' }]);
  });

  test('a charge refused on a Purchase its own lost charge got blocked is a hard decline, not a crash', () => {
    // Minimal counterexample: the first charge's answer is lost after the acquirer blocked the Purchase; the retry
    // meets the blocked Purchase. With no attempt recorded yet, the machine threw ("needs a declined attempt last").
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_failed', reason: 'timeout' });
    expect(types(c.feed({ type: 'timer' }, 1))).toEqual(['charge']);
    c.feed({ type: 'charge_refused', purchase: purchase('blocked', { declineCode: 'suspected_fraud' }) });
    expect(c.state.status).toBe('action_required');
    expect(c.state.attempts).toMatchObject([{ token: 'tok_a', outcome: 'declined', declineClass: 'hard' }]);
  });
});
