/**
 * When the next charge may be made (src/domain/billing-cycle/schedule.ts).
 */
import { DEFAULT_DUNNING_POLICY } from '../../../../src/domain/dunning';
import { T0, HOUR, TARGETS, hard, Cycle, types } from './harness';

describe('no charge sooner than minHoursBetweenAttempts after the previous attempt, whatever asks for it', () => {
  it('a new card given an hour after a hard decline is charged four hours after that decline', () => {
    const c = new Cycle({ settlementTargets: TARGETS });
    c.start();
    c.feed({ type: 'charge_declined', decline: hard });
    const early = c.feed({ type: 'token_updated', token: 'tok_b' }, 1);
    expect(types(early)).not.toContain('charge');
    expect(c.state.wakeAt).toBe(T0 + DEFAULT_DUNNING_POLICY.minHoursBetweenAttempts * HOUR);
    expect(types(c.feed({ type: 'timer' }, 3.9))).not.toContain('charge');
    expect(c.feed({ type: 'timer' }, 4)).toContainEqual(expect.objectContaining({ type: 'charge', token: 'tok_b' }));
  });
});
