/**
 * The cycle's Purchases (src/domain/billing-cycle/purchase.ts): one that cannot be created is given up after a bound.
 */
import { type CycleCommand } from '../../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY } from '../../../../src/domain/dunning';
import { T0, HOUR, Cycle, facts, workflowCalls, alertCodes } from './harness';

describe('a Purchase that cannot be created (#11)', () => {
  it('is retried merchantConfigMaxRetries times, then the cycle fails for operations with an alert', () => {
    const c = new Cycle({ purchaseLife: true });
    c.feed({ type: 'started' });
    let cmds: CycleCommand[] = [];
    let tries = 0;
    while (!c.state.finished && tries < 1000) {
      tries++;
      cmds = c.feed({ type: 'purchase_create_failed', reason: 'GatewayRejected: currency XTS not accepted' });
      if (c.state.finished) break;
      c.at(c.state.wakeAt!);
      expect(workflowCalls(c.feed({ type: 'timer' }))).toEqual([{ type: 'create_purchase' }]);
    }
    expect(tries).toBe(DEFAULT_DUNNING_POLICY.merchantConfigMaxRetries + 1);
    expect(c.state.status).toBe('failed');
    expect(c.state.failureKind).toBe('operations');
    expect(c.state.failureReason).toMatch(/could not create the purchase after 29 tries/);
    expect(alertCodes(cmds)).toEqual(['purchase_create_failed', 'purchase_create_exhausted']);
    expect(cmds.slice(-2)).toEqual([{ type: 'report', final: true }, { type: 'finish' }]);
    // It gave up within the merchant-configuration window (28 retries of 6 h = 7 days), not for ever.
    expect(c.now - T0).toBe(
      DEFAULT_DUNNING_POLICY.merchantConfigMaxRetries * DEFAULT_DUNNING_POLICY.merchantConfigRetryHours * HOUR,
    );
  });

  it('a Purchase created in time resets the count', () => {
    const c = new Cycle({ purchaseLife: true });
    c.feed({ type: 'started' });
    for (let i = 0; i < DEFAULT_DUNNING_POLICY.merchantConfigMaxRetries; i++) {
      c.feed({ type: 'purchase_create_failed', reason: 'timeout' });
      c.at(c.state.wakeAt!).feed({ type: 'timer' });
    }
    c.feed({ type: 'purchase_created', purchase: facts('pur_1', 'created') });
    expect(c.state.createFailures).toBe(0);
    expect(c.state.status).toBe('charging');
  });

  it('runs recorded before the rule keep retrying (replay)', () => {
    const c = new Cycle({ purchaseLife: false });
    c.feed({ type: 'started' });
    for (let i = 0; i < 40; i++) {
      c.feed({ type: 'purchase_create_failed', reason: 'x' });
      c.at(c.state.wakeAt!).feed({ type: 'timer' });
    }
    expect(c.state.status).toBe('creating');
  });
});
