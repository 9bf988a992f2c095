/**
 * An operator's mark-as-paid (src/domain/billing-cycle/mark-paid.ts): after a read that shows no pending charge,
 * answered once, and on a fresh Purchase when the current one is blocked.
 */
import { CHARGE_FENCE_MS } from '../../../../src/domain/billing-cycle';
import { T0, HOUR, Cycle, purchase, facts, types, workflowCalls } from './harness';

/** When a charge whose outcome is unknown stops fencing the gateway (see CHARGE_FENCE_MS). */
const FENCE_HOURS = CHARGE_FENCE_MS / HOUR;

/** A cycle whose charge on pur_1 was blocked by fraud checks: it waits in action_required for a new card. */
function blockedCycle(purchaseLife = true): Cycle {
  const c = new Cycle({ purchaseLife });
  c.feed({ type: 'started' });
  c.feed({ type: 'purchase_created', purchase: facts('pur_1', 'created') });
  c.feed({ type: 'charge_declined', decline: { code: 'suspected_fraud', message: '', declineClass: 'hard' } });
  expect(c.state.status).toBe('action_required');
  return c;
}

describe('mark_as_paid: counterexamples found by the property tests', () => {
  test('mark_as_paid is not sent while a charge whose answer was lost is pending at the gateway', () => {
    // Minimal counterexample: a markPaid request arrives while the charge is in flight; the charge answer is lost
    // (it landed as pending_charge); the machine sent mark_paid at once, on a Purchase the acquirer was charging.
    const c = new Cycle();
    c.start();
    c.feed({ type: 'mark_paid_requested', requestId: 'mp_1' });
    expect(types(c.feed({ type: 'charge_failed', reason: 'timeout' }))).toEqual([]);
    const cmds = c.feed({ type: 'timer' }, FENCE_HOURS);
    expect(types(cmds)).toEqual(['read_purchase']);
    c.feed({ type: 'purchase_read', purchase: purchase('pending_charge') });
    expect(c.state.status).toBe('pending');
    expect(c.log.flat().map((x) => x.type)).not.toContain('mark_paid');
    expect(c.state.markPaidAnswers).toEqual([
      { requestId: 'mp_1', ok: false, error: 'a charge is pending at the gateway' },
    ]);
  });

  test('mark_as_paid follows a read that shows no pending charge; a failed read answers the request', () => {
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_declined', decline: { code: 'insufficient_funds', message: '', declineClass: 'soft' } });
    expect(types(c.feed({ type: 'mark_paid_requested', requestId: 'mp_1' }))).toEqual(['read_purchase']);
    expect(types(c.feed({ type: 'purchase_read', purchase: purchase('error') }))).toEqual(['mark_paid']);

    const d = new Cycle();
    d.start();
    d.feed({ type: 'charge_declined', decline: { code: 'insufficient_funds', message: '', declineClass: 'soft' } });
    d.feed({ type: 'mark_paid_requested', requestId: 'mp_2' });
    d.feed({ type: 'purchase_read_failed', reason: 'timeout' });
    expect(d.state.markPaid).toBeUndefined();
    expect(d.state.markPaidAnswers).toEqual([
      { requestId: 'mp_2', ok: false, error: 'could not read the purchase: timeout' },
    ]);
    expect(d.state.inFlight).toBeUndefined();
  });

  test('a markPaid request is answered when the charge pays before it runs', () => {
    // Minimal counterexample: markPaid arrives while the charge is in flight; the charge answers paid; the cycle
    // finished with the request never answered (its update handler would wait for an answer that never comes).
    const c = new Cycle();
    c.start();
    c.feed({ type: 'mark_paid_requested', requestId: 'mp_1' });
    const cmds = c.feed({ type: 'charged', outcome: 'paid', purchase: purchase('paid') });
    expect(types(cmds)).toContain('finish');
    expect(c.state.markPaid).toBeUndefined();
    expect(c.state.markPaidAnswers).toEqual([{ requestId: 'mp_1', ok: false, error: 'the cycle is already paid' }]);
  });

  test("the operator's own mark-as-paid reaching the cycle as a webhook first still ends marked_paid", () => {
    // Counterexample from CI: the sandbox's purchase.paid webhook for the mark-as-paid call was applied before the
    // call's answer; the cycle ended `paid` (as if the card had been charged) and the update answered `paid`.
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_declined', decline: { code: 'do_not_honour', message: '', declineClass: 'soft' } });
    c.feed({ type: 'mark_paid_requested', requestId: 'mp_1' });
    expect(types(c.feed({ type: 'purchase_read', purchase: purchase('error') }))).toEqual(['mark_paid']);
    const later = Math.floor(T0 / 1000) + 60;
    const cmds = c.feed({ type: 'gateway_event', purchase: purchase('paid', { updatedOn: later }) });
    expect(c.state.status).toBe('marked_paid');
    expect(c.state.markPaidAnswers).toEqual([{ requestId: 'mp_1', ok: true }]);
    expect(cmds).toContainEqual(expect.objectContaining({ type: 'notify', data: { markedPaid: true } }));
    // The call's answer arrives afterwards and changes nothing.
    c.feed({ type: 'marked_paid', purchase: purchase('paid', { updatedOn: later, markedAsPaid: true }) });
    expect(c.state.status).toBe('marked_paid');
    expect(c.state.markPaidAnswers).toHaveLength(1);
    expect(c.state.inFlight).toBeUndefined();
  });

  test('a read that finds the Purchase marked paid at the gateway ends marked_paid, not paid', () => {
    // The mark-as-paid call timed out after the gateway applied it; the next read is the only witness.
    const c = new Cycle();
    c.start();
    c.feed({ type: 'charge_declined', decline: { code: 'do_not_honour', message: '', declineClass: 'soft' } });
    c.feed({ type: 'mark_paid_requested', requestId: 'mp_1' });
    c.feed({ type: 'purchase_read', purchase: purchase('error') });
    c.feed({ type: 'mark_paid_failed', reason: 'timeout' });
    expect(c.state.status).toBe('retry_scheduled');
    c.feed({ type: 'timer' }, 30);
    c.feed({ type: 'purchase_read', purchase: purchase('paid', { markedAsPaid: true, updatedOn: T0 / 1000 + 99 }) });
    expect(c.state.status).toBe('marked_paid');
  });
});

describe('markPaid while the current Purchase is blocked (#8)', () => {
  it('creates a fresh Purchase for the period and marks that one paid', () => {
    const c = blockedCycle();
    c.at(T0 + HOUR);
    expect(workflowCalls(c.feed({ type: 'mark_paid_requested', requestId: 'r1' }))).toEqual([
      { type: 'read_purchase', purchaseId: 'pur_1', purpose: 'confirm' },
    ]);
    // The confirming read shows the Purchase blocked: the gateway would refuse mark_as_paid on it.
    expect(workflowCalls(c.feed({ type: 'purchase_read', purchase: facts('pur_1', 'blocked') }))).toEqual([
      { type: 'create_purchase' },
    ]);
    expect(workflowCalls(c.feed({ type: 'purchase_created', purchase: facts('pur_2', 'created') }))).toEqual([
      { type: 'mark_paid', purchaseId: 'pur_2' },
    ]);
    c.feed({ type: 'marked_paid', purchase: facts('pur_2', 'paid', { markedAsPaid: true }) });
    expect(c.state.status).toBe('marked_paid');
    expect(c.state.paidPurchaseId).toBe('pur_2');
    expect(c.state.markPaidAnswers).toEqual([{ requestId: 'r1', ok: true }]);
  });

  it('an open (declined) Purchase is still marked paid itself: no fresh Purchase', () => {
    const c = new Cycle({ purchaseLife: true });
    c.feed({ type: 'started' });
    c.feed({ type: 'purchase_created', purchase: facts('pur_1', 'created') });
    c.feed({ type: 'charge_declined', decline: { code: 'stolen_card', message: '', declineClass: 'hard' } });
    c.feed({ type: 'mark_paid_requested', requestId: 'r1' });
    expect(workflowCalls(c.feed({ type: 'purchase_read', purchase: facts('pur_1', 'error') }))).toEqual([
      { type: 'mark_paid', purchaseId: 'pur_1' },
    ]);
  });

  it('a fresh Purchase that cannot be created answers the request with the reason, and creates nothing more', () => {
    const c = blockedCycle();
    c.feed({ type: 'mark_paid_requested', requestId: 'r1' });
    c.feed({ type: 'purchase_read', purchase: facts('pur_1', 'blocked') });
    const cmds = c.feed({ type: 'purchase_create_failed', reason: 'GatewayRejected: currency' });
    expect(c.state.markPaidAnswers).toEqual([
      { requestId: 'r1', ok: false, error: 'could not create a purchase: GatewayRejected: currency' },
    ]);
    expect(workflowCalls(cmds)).toEqual([]);
    expect(c.state.status).toBe('action_required');
  });

  it('runs recorded before the rule still send mark_paid for the blocked Purchase (replay)', () => {
    const c = blockedCycle(false);
    c.feed({ type: 'mark_paid_requested', requestId: 'r1' });
    expect(workflowCalls(c.feed({ type: 'purchase_read', purchase: facts('pur_1', 'blocked') }))).toEqual([
      { type: 'mark_paid', purchaseId: 'pur_1' },
    ]);
  });
});
