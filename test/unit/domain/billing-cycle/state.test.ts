/**
 * The cycle's state (src/domain/billing-cycle/state.ts): a fresh state owns its data, and what the machine keeps of a
 * Purchase is the current one's status and the latest gateway update.
 */
import {
  cloneCycleState,
  currentPurchaseId,
  decideCycle,
  initialCycleState,
} from '../../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY } from '../../../../src/domain/dunning';
import { TARGETS, T0, facts } from './harness';

describe('the cycle state', () => {
  it('a fresh state copies the attempts and targets it is given, so later changes to either never leak', () => {
    const prior = [T0 - 1_000];
    const targets = [...TARGETS];
    const s = initialCycleState({
      token: 'tok_a',
      amountMinor: 1_000,
      priorTokenAttempts: prior,
      settlementTargets: targets,
    });
    prior.push(T0);
    targets.pop();
    expect(s.priorTokenAttempts).toEqual([T0 - 1_000]);
    expect(s.settlementTargets).toEqual(TARGETS);
    expect(s).toMatchObject({ status: 'creating', paused: false, finished: false, purchaseIds: [] });
    expect(initialCycleState({ token: 'tok_a', amountMinor: 1_000, paused: true }).paused).toBe(true);
  });

  it('a clone is a deep copy: changing it leaves the original as it was', () => {
    const s = initialCycleState({ token: 'tok_a', amountMinor: 1_000, settlementTargets: TARGETS });
    const c = cloneCycleState(s);
    c.purchaseIds.push('pur_1');
    c.settlementTargets.pop();
    expect(s.purchaseIds).toEqual([]);
    expect(s.settlementTargets).toEqual(TARGETS);
  });

  it('the current Purchase is the last one created; only its status is kept, and the latest update of any', () => {
    const ctx = { now: T0, policy: DEFAULT_DUNNING_POLICY };
    let s = initialCycleState({ token: 'tok_a', amountMinor: 1_000 });
    expect(currentPurchaseId(s)).toBeUndefined();
    s = decideCycle(
      s,
      { type: 'purchase_created', purchase: facts('pur_1', 'created', { updatedOn: 100 }) },
      ctx,
    ).state;
    s = decideCycle(s, { type: 'purchase_created', purchase: facts('pur_2', 'created', { updatedOn: 90 }) }, ctx).state;
    expect(currentPurchaseId(s)).toBe('pur_2');
    expect(s.purchaseStatus).toBe('created');
    expect(s.lastGatewayUpdate).toBe(100);
    const before = cloneCycleState(s);
    decideCycle(s, { type: 'gateway_event', purchase: facts('pur_2', 'paid', { updatedOn: 200 }) }, ctx);
    expect(s).toEqual(before); // decideCycle never changes the state it is given
  });
});
