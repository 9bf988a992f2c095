/**
 * The period's Purchase from creation to the end of the cycle (issue 20 #8, #9, #11), on the pure machine:
 * - markPaid while the current Purchase is blocked records the payment on a fresh Purchase (the gateway refuses
 *   mark_as_paid on a blocked one);
 * - a cycle that ends unpaid cancels its Purchase, so no money can land on it after the cycle closed (and money that
 *   did land before the cancel makes the cycle paid);
 * - a Purchase that cannot be created is given up after `merchantConfigMaxRetries` failures: the cycle fails as an
 *   operations matter, with an alert, instead of retrying every 6 h for ever.
 * Runs recorded before these rules (no `purchaseLife` in the context) keep the old commands (replay).
 */
import {
  decideCycle,
  initialCycleState,
  type CycleCommand,
  type CycleEvent,
  type CycleMachineState,
  type PurchaseFacts,
} from '../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY } from '../../../src/domain/dunning';

const T0 = Date.UTC(2027, 0, 1, 9);
const HOUR = 3_600_000;
const policy = DEFAULT_DUNNING_POLICY;

class Cycle {
  state: CycleMachineState = initialCycleState({ token: 'tok_a', amountMinor: 1_000 });
  now = T0;
  constructor(private readonly purchaseLife = true) {}
  feed(event: CycleEvent): CycleCommand[] {
    const d = decideCycle(this.state, event, {
      now: this.now,
      policy,
      ...(this.purchaseLife ? { purchaseLife: true } : {}),
    });
    this.state = d.state;
    return d.commands;
  }
  at(ms: number): this {
    this.now = ms;
    return this;
  }
}

const facts = (purchaseId: string, status: string, extra: Partial<PurchaseFacts> = {}): PurchaseFacts => ({
  purchaseId,
  status,
  updatedOn: Math.floor(T0 / 1000) + 1,
  ...extra,
});
const gatewayCalls = (cmds: CycleCommand[]) =>
  cmds.filter((c) => !['notify', 'alert', 'report', 'ack_stop', 'finish'].includes(c.type));
const alerts = (cmds: CycleCommand[]) => cmds.flatMap((c) => (c.type === 'alert' ? [c.code] : []));

/** A cycle whose charge on pur_1 was blocked by fraud checks: it waits in action_required for a new card. */
function blockedCycle(purchaseLife = true): Cycle {
  const c = new Cycle(purchaseLife);
  c.feed({ type: 'started' });
  c.feed({ type: 'purchase_created', purchase: facts('pur_1', 'created') });
  c.feed({ type: 'charge_declined', decline: { code: 'suspected_fraud', message: '', declineClass: 'hard' } });
  expect(c.state.status).toBe('action_required');
  return c;
}

describe('markPaid while the current Purchase is blocked (#8)', () => {
  it('creates a fresh Purchase for the period and marks that one paid', () => {
    const c = blockedCycle();
    c.at(T0 + HOUR);
    expect(gatewayCalls(c.feed({ type: 'mark_paid_requested', requestId: 'r1' }))).toEqual([
      { type: 'read_purchase', purchaseId: 'pur_1', purpose: 'confirm' },
    ]);
    // The confirming read shows the Purchase blocked: the gateway would refuse mark_as_paid on it.
    expect(gatewayCalls(c.feed({ type: 'purchase_read', purchase: facts('pur_1', 'blocked') }))).toEqual([
      { type: 'create_purchase' },
    ]);
    expect(gatewayCalls(c.feed({ type: 'purchase_created', purchase: facts('pur_2', 'created') }))).toEqual([
      { type: 'mark_paid', purchaseId: 'pur_2' },
    ]);
    c.feed({ type: 'marked_paid', purchase: facts('pur_2', 'paid', { markedAsPaid: true }) });
    expect(c.state.status).toBe('marked_paid');
    expect(c.state.paidPurchaseId).toBe('pur_2');
    expect(c.state.markPaidAnswers).toEqual([{ requestId: 'r1', ok: true }]);
  });

  it('an open (declined) Purchase is still marked paid itself: no fresh Purchase', () => {
    const c = new Cycle();
    c.feed({ type: 'started' });
    c.feed({ type: 'purchase_created', purchase: facts('pur_1', 'created') });
    c.feed({ type: 'charge_declined', decline: { code: 'stolen_card', message: '', declineClass: 'hard' } });
    c.feed({ type: 'mark_paid_requested', requestId: 'r1' });
    expect(gatewayCalls(c.feed({ type: 'purchase_read', purchase: facts('pur_1', 'error') }))).toEqual([
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
    expect(gatewayCalls(cmds)).toEqual([]);
    expect(c.state.status).toBe('action_required');
  });

  it('runs recorded before the rule still send mark_paid for the blocked Purchase (replay)', () => {
    const c = blockedCycle(false);
    c.feed({ type: 'mark_paid_requested', requestId: 'r1' });
    expect(gatewayCalls(c.feed({ type: 'purchase_read', purchase: facts('pur_1', 'blocked') }))).toEqual([
      { type: 'mark_paid', purchaseId: 'pur_1' },
    ]);
  });
});

describe('a cycle that ends unpaid cancels its Purchase (#9)', () => {
  function hardDeclined(purchaseLife = true): Cycle {
    const c = new Cycle(purchaseLife);
    c.feed({ type: 'started' });
    c.feed({ type: 'purchase_created', purchase: facts('pur_1', 'created') });
    c.feed({ type: 'charge_declined', decline: { code: 'stolen_card', message: '', declineClass: 'hard' } });
    return c.at(c.state.actionRequiredUntil!);
  }

  it('the end of the grace cancels the error Purchase, then fails', () => {
    const c = hardDeclined();
    expect(gatewayCalls(c.feed({ type: 'timer' }))).toEqual([{ type: 'cancel_purchase', purchaseId: 'pur_1' }]);
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
    expect(alerts(cmds)).toEqual(['purchase_cancel_failed']);
    expect(gatewayCalls(cmds)).toEqual([{ type: 'read_purchase', purchaseId: 'pur_1', purpose: 'final' }]);
    c.feed({ type: 'purchase_read', purchase: facts('pur_1', 'error') });
    expect(c.state.status).toBe('failed');
  });

  it('soft declines exhausted also cancel the Purchase', () => {
    const c = new Cycle();
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
    expect(gatewayCalls(cmds)).toEqual([{ type: 'cancel_purchase', purchaseId: 'pur_1' }]);
  });

  it('runs recorded before the rule re-read instead (replay)', () => {
    const c = hardDeclined(false);
    expect(gatewayCalls(c.feed({ type: 'timer' }))).toEqual([
      { type: 'read_purchase', purchaseId: 'pur_1', purpose: 'final' },
    ]);
  });
});

describe('a Purchase that cannot be created (#11)', () => {
  it('is retried merchantConfigMaxRetries times, then the cycle fails for operations with an alert', () => {
    const c = new Cycle();
    c.feed({ type: 'started' });
    let cmds: CycleCommand[] = [];
    let tries = 0;
    while (!c.state.finished && tries < 1000) {
      tries++;
      cmds = c.feed({ type: 'purchase_create_failed', reason: 'GatewayRejected: currency XTS not accepted' });
      if (c.state.finished) break;
      c.at(c.state.wakeAt!);
      expect(gatewayCalls(c.feed({ type: 'timer' }))).toEqual([{ type: 'create_purchase' }]);
    }
    expect(tries).toBe(policy.merchantConfigMaxRetries + 1);
    expect(c.state.status).toBe('failed');
    expect(c.state.failureKind).toBe('operations');
    expect(c.state.failureReason).toMatch(/could not create the purchase after 29 tries/);
    expect(alerts(cmds)).toEqual(['purchase_create_failed', 'purchase_create_exhausted']);
    expect(cmds.slice(-2)).toEqual([{ type: 'report', final: true }, { type: 'finish' }]);
    // It gave up within the merchant-configuration window (28 retries of 6 h = 7 days), not for ever.
    expect(c.now - T0).toBe(policy.merchantConfigMaxRetries * policy.merchantConfigRetryHours * HOUR);
  });

  it('a Purchase created in time resets the count', () => {
    const c = new Cycle();
    c.feed({ type: 'started' });
    for (let i = 0; i < policy.merchantConfigMaxRetries; i++) {
      c.feed({ type: 'purchase_create_failed', reason: 'timeout' });
      c.at(c.state.wakeAt!).feed({ type: 'timer' });
    }
    c.feed({ type: 'purchase_created', purchase: facts('pur_1', 'created') });
    expect(c.state.createFailures).toBe(0);
    expect(c.state.status).toBe('charging');
  });

  it('runs recorded before the rule keep retrying (replay)', () => {
    const c = new Cycle(false);
    c.feed({ type: 'started' });
    for (let i = 0; i < 40; i++) {
      c.feed({ type: 'purchase_create_failed', reason: 'x' });
      c.at(c.state.wakeAt!).feed({ type: 'timer' });
    }
    expect(c.state.status).toBe('creating');
  });
});
