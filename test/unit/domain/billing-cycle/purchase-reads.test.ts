/**
 * What a read or a webhook shows (src/domain/billing-cycle/purchase-reads.ts): a webhook is a hint, and every
 * Purchase status has a meaning and every wait a timer.
 */
import { T0, TARGETS, Cycle, purchase, types } from './harness';

describe('a webhook is a hint: a decline is concluded only by a fresh read of the Purchase', () => {
  it('a stale decline webhook during a pending charge is checked by a read and concludes nothing', () => {
    const c = new Cycle({ settlementTargets: TARGETS });
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

describe('every Purchase status has a meaning and every wait a timer (defect 6)', () => {
  const pendingThenRead = (status: string) => {
    const c = new Cycle({ token: 'tok_old' });
    c.start();
    c.feedAfter({ type: 'charged', outcome: 'pending', purchase: purchase('pending_charge') }, 1_000);
    c.timer();
    const cmds = c.feedAfter({ type: 'purchase_read', purchase: purchase(status) }, 200);
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
      const c = new Cycle({ token: 'tok_old' });
      c.start();
      c.feedAfter({ type: 'cancel_requested', reason: 'customer' }, 1_000);
      c.feedAfter({ type: 'charge_failed', reason: 'charge not sent', notSent: true }, 1_000);
      const cmds = c.feedAfter({ type: 'purchase_canceled', purchase: purchase(status) }, 500);
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
