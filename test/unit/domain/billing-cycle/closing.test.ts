/**
 * Closing a cycle failed or canceled (src/domain/billing-cycle/closing.ts): never while a charge is pending at the
 * gateway, and an unpaid end cancels the Purchase.
 */
import { CHARGE_FENCE_MS } from '../../../../src/domain/billing-cycle';
import { T0, HOUR, Cycle, purchase, facts, types, workflowCalls, alertCodes } from './harness';

/** When a charge whose outcome is unknown stops fencing the gateway (see CHARGE_FENCE_MS). */
const FENCE_HOURS = CHARGE_FENCE_MS / HOUR;

describe('a cancel and a pending charge: counterexamples found by the property tests', () => {
  test('a cancel does not close the cycle while a charge whose answer was lost is pending at the gateway', () => {
    // Minimal counterexample: the charge answer is lost (it landed as pending_charge), a cancel arrives, the gateway
    // refuses to cancel a pending Purchase, the final re-read shows pending_charge. The cycle used to end canceled
    // and the charge then paid: money taken on a canceled cycle, with no alert.
    const c = new Cycle();
    expect(types(c.start())).toEqual(['charge']);
    c.feed({ type: 'charge_failed', reason: 'timeout' });
    // The lost answer's request may still be on its way: nothing is sent, nothing acknowledged, until the fence.
    expect(types(c.feed({ type: 'cancel_requested', reason: 'customer' }))).toEqual([]);
    expect(types(c.feed({ type: 'timer' }, FENCE_HOURS))).toEqual(['cancel_purchase', 'ack_stop']);
    expect(types(c.feed({ type: 'purchase_cancel_failed', reason: 'purchase_cancel_error' }))).toContain(
      'read_purchase',
    );
    const cmds = c.feed({ type: 'purchase_read', purchase: purchase('pending_charge') });
    expect(c.state.status).toBe('pending');
    expect(types(cmds)).not.toContain('finish');

    c.feed({ type: 'timer' }, 1);
    c.feed({ type: 'purchase_read', purchase: purchase('paid', { updatedOn: Math.floor(T0 / 1000) + 600 }) });
    expect(c.state.status).toBe('paid');
  });

  test('a cancel during a lost-answer pending charge that then fails ends canceled after the re-read', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_failed', reason: 'timeout' });
    c.feed({ type: 'cancel_requested', reason: 'customer' });
    c.feed({ type: 'timer' }, FENCE_HOURS);
    c.feed({ type: 'purchase_cancel_failed', reason: 'purchase_cancel_error' });
    c.feed({ type: 'purchase_read', purchase: purchase('pending_charge') });
    c.feed({ type: 'timer' }, 1 + FENCE_HOURS);
    expect(c.state.inFlight).toBe('read_purchase');
    const cmds = c.feed({
      type: 'purchase_read',
      purchase: purchase('error', { declineCode: 'insufficient_funds', updatedOn: Math.floor(T0 / 1000) + 600 }),
    });
    expect(c.state.status).toBe('canceled');
    expect(types(cmds)).toContain('finish');
    expect(c.log.flat().filter((x) => x.type === 'charge')).toHaveLength(1);
  });
});

describe('a cycle that ends unpaid cancels its Purchase (#9)', () => {
  function hardDeclined(purchaseLife = true): Cycle {
    const c = new Cycle({ purchaseLife });
    c.feed({ type: 'started' });
    c.feed({ type: 'purchase_created', purchase: facts('pur_1', 'created') });
    c.feed({ type: 'charge_declined', decline: { code: 'stolen_card', message: '', declineClass: 'hard' } });
    return c.at(c.state.actionRequiredUntil!);
  }

  it('the end of the grace cancels the error Purchase, then fails', () => {
    const c = hardDeclined();
    expect(workflowCalls(c.feed({ type: 'timer' }))).toEqual([{ type: 'cancel_purchase', purchaseId: 'pur_1' }]);
    const cmds = c.feed({ type: 'purchase_canceled', purchase: facts('pur_1', 'cancelled') });
    expect(c.state.status).toBe('failed');
    expect(cmds.map((x) => x.type)).toEqual(['notify', 'report', 'finish']);
  });

  it('money that landed before the cancel makes the cycle paid (the cancel reads first)', () => {
    const c = hardDeclined();
    c.feed({ type: 'timer' });
    c.feed({ type: 'purchase_canceled', purchase: facts('pur_1', 'paid') });
    expect(c.state.status).toBe('paid');
  });

  it('a cancel the gateway refuses is followed by a final read before the cycle fails', () => {
    const c = hardDeclined();
    c.feed({ type: 'timer' });
    const cmds = c.feed({ type: 'purchase_cancel_failed', reason: 'purchase_cancel_error' });
    expect(alertCodes(cmds)).toEqual(['purchase_cancel_failed']);
    expect(workflowCalls(cmds)).toEqual([{ type: 'read_purchase', purchaseId: 'pur_1', purpose: 'final' }]);
    c.feed({ type: 'purchase_read', purchase: facts('pur_1', 'error') });
    expect(c.state.status).toBe('failed');
  });

  it('soft declines exhausted also cancel the Purchase', () => {
    const c = new Cycle({ purchaseLife: true });
    c.feed({ type: 'started' });
    let cmds = c.feed({ type: 'purchase_created', purchase: facts('pur_1', 'created') });
    for (let i = 0; i < 50 && !c.state.closing && !c.state.finished; i++) {
      const charge = cmds.find((x) => x.type === 'charge');
      if (charge) {
        cmds = c.feed({
          type: 'charge_declined',
          decline: { code: 'insufficient_funds', message: '', declineClass: 'soft' },
        });
      } else {
        c.at(Math.max(c.now, c.state.wakeAt ?? c.now));
        cmds = c.feed({ type: 'timer' });
      }
    }
    expect(workflowCalls(cmds)).toEqual([{ type: 'cancel_purchase', purchaseId: 'pur_1' }]);
  });

  it('runs recorded before the rule re-read instead (replay)', () => {
    const c = hardDeclined(false);
    expect(workflowCalls(c.feed({ type: 'timer' }))).toEqual([
      { type: 'read_purchase', purchaseId: 'pur_1', purpose: 'final' },
    ]);
  });
});
