/**
 * Settlement (src/domain/billing-cycle/settlement.ts): only for money the cycle took, once per target.
 */
import { TARGETS, Cycle, purchase, types, settlementWrites, failedCycle, canceledCycle } from './harness';

describe('settlement is recorded only for money the cycle took', () => {
  it('a paid cycle records its payment once in every settlement target, then reports and finishes', () => {
    const c = new Cycle({ settlementTargets: TARGETS });
    c.start();
    const afterPay = c.feed({ type: 'charged', outcome: 'paid', purchase: purchase('paid') });
    expect(settlementWrites(afterPay)).toEqual([
      { type: 'record_settlement', index: 0, target: TARGETS[0], purchaseId: 'pur_1' },
    ]);
    const second = c.feed({ type: 'settlement_recorded', index: 0, externalId: 'ap-1' });
    expect(settlementWrites(second)).toEqual([
      { type: 'record_settlement', index: 1, target: TARGETS[1], purchaseId: 'pur_1' },
    ]);
    const done = c.feed({ type: 'settlement_recorded', index: 1, externalId: 'gm-1' });
    expect(types(done)).toEqual(['report', 'finish']);
    expect(settlementWrites(c.commands)).toHaveLength(2);
  });

  it('a failed cycle writes nothing to any settlement target', () => {
    const c = failedCycle();
    expect(settlementWrites(c.commands)).toEqual([]);
    expect(c.commands.slice(-2)).toEqual([{ type: 'report', final: true }, { type: 'finish' }]);
    expect(c.state.finished).toBe(true);
  });

  it('a canceled cycle writes nothing to any settlement target', () => {
    const c = canceledCycle();
    expect(settlementWrites(c.commands)).toEqual([]);
    expect(c.commands.slice(-2)).toEqual([{ type: 'report', final: true }, { type: 'finish' }]);
  });
});
