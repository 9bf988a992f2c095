/**
 * Example-based tests of the billing-cycle machine: each one a counterexample the property tests found
 * (test/unit/domain/billing-cycle.property.test.ts), written out as the sequence of events that broke a rule.
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

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const HOUR = 60 * 60 * 1000;
/** When a charge whose outcome is unknown stops fencing the gateway (see CHARGE_FENCE_MS). */
const FENCE_HOURS = CHARGE_FENCE_MS / HOUR;

/** Feeds events one at a time (each at its own time) and keeps every decision's commands. */
class Cycle {
  state: CycleMachineState = initialCycleState({ token: 'tok_a', amountMinor: 4_990 });
  now = T0;
  readonly log: CycleCommand[][] = [];

  feed(event: CycleEvent, atHours?: number): CycleCommand[] {
    if (atHours !== undefined) this.now = T0 + atHours * HOUR;
    const d = decideCycle(this.state, event, { now: this.now, policy: DEFAULT_DUNNING_POLICY });
    this.state = d.state;
    this.log.push(d.commands);
    return d.commands;
  }
  /** Starts the cycle and creates its Purchase; returns the first charge command. */
  startAndCreate(): CycleCommand[] {
    this.feed({ type: 'started' });
    return this.feed({ type: 'purchase_created', purchase: purchase('created') });
  }
}

const purchase = (status: string, extra: Partial<PurchaseFacts> = {}): PurchaseFacts => ({
  purchaseId: 'pur_1',
  status,
  updatedOn: Math.floor(T0 / 1000),
  ...extra,
});
const types = (cmds: CycleCommand[]): string[] => cmds.map((c) => c.type);

describe('billing cycle machine: counterexamples found by the property tests', () => {
  test('a cancel does not close the cycle while a charge whose answer was lost is pending at the gateway', () => {
    // Minimal counterexample: the charge answer is lost (it landed as pending_charge), a cancel arrives, the gateway
    // refuses to cancel a pending Purchase, the final re-read shows pending_charge. The cycle used to end canceled
    // and the charge then paid: money taken on a canceled cycle, with no alert.
    const c = new Cycle();
    expect(types(c.startAndCreate())).toEqual(['charge']);
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
    c.startAndCreate();
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

  test('mark_as_paid is not sent while a charge whose answer was lost is pending at the gateway', () => {
    // Minimal counterexample: a markPaid request arrives while the charge is in flight; the charge answer is lost
    // (it landed as pending_charge); the machine sent mark_paid at once, on a Purchase the acquirer was charging.
    const c = new Cycle();
    c.startAndCreate();
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
    c.startAndCreate();
    c.feed({ type: 'charge_declined', decline: { code: 'insufficient_funds', message: '', declineClass: 'soft' } });
    expect(types(c.feed({ type: 'mark_paid_requested', requestId: 'mp_1' }))).toEqual(['read_purchase']);
    expect(types(c.feed({ type: 'purchase_read', purchase: purchase('error') }))).toEqual(['mark_paid']);

    const d = new Cycle();
    d.startAndCreate();
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
    c.startAndCreate();
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
    c.startAndCreate();
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
    c.startAndCreate();
    c.feed({ type: 'charge_declined', decline: { code: 'do_not_honour', message: '', declineClass: 'soft' } });
    c.feed({ type: 'mark_paid_requested', requestId: 'mp_1' });
    c.feed({ type: 'purchase_read', purchase: purchase('error') });
    c.feed({ type: 'mark_paid_failed', reason: 'timeout' });
    expect(c.state.status).toBe('retry_scheduled');
    c.feed({ type: 'timer' }, 30);
    c.feed({ type: 'purchase_read', purchase: purchase('paid', { markedAsPaid: true, updatedOn: T0 / 1000 + 99 }) });
    expect(c.state.status).toBe('marked_paid');
  });

  test('after a fraud block, a new card is charged on a fresh Purchase (no cancel of the blocked one)', () => {
    // Minimal counterexample: the charge is blocked (answered as a hard decline); a new token arrives; the charge
    // meets the blocked Purchase and is refused. The refusal used to count as another hard decline of the new card
    // (back to action_required, the new card never charged); a second new token then looped on cancel_purchase,
    // which the gateway refuses for a blocked Purchase, with no pause between calls.
    const c = new Cycle();
    c.startAndCreate();
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
    c.startAndCreate();
    c.feed({ type: 'charge_failed', reason: 'timeout' });
    expect(types(c.feed({ type: 'timer' }, 1))).toEqual(['charge']);
    c.feed({ type: 'charge_refused', purchase: purchase('blocked', { declineCode: 'suspected_fraud' }) });
    expect(c.state.status).toBe('action_required');
    expect(c.state.attempts).toMatchObject([{ token: 'tok_a', outcome: 'declined', declineClass: 'hard' }]);
  });
});
