import { REUSABLE_OPEN_STATUSES, purchaseToAdopt, type FoundPurchase } from '../../../src/domain/purchase-reuse';

const wanted = { totalMinor: 1000, currency: 'NGN' };
const p = (
  purchaseId: string,
  status: string,
  createdOn: number,
  totalMinor = 1000,
  currency = 'NGN',
): FoundPurchase => ({
  purchaseId,
  status,
  createdOn,
  totalMinor,
  currency,
});

describe('purchaseToAdopt', () => {
  it.each([
    ['nothing found: create', [], undefined],
    ['an open one', [p('a', 'created', 1)], 'a'],
    ['a declined one (charged again as the next attempt)', [p('a', 'error', 1)], 'a'],
    ['overdue, sent, viewed are payable', [p('a', 'overdue', 1), p('b', 'viewed', 2)], 'b'],
    ['sent is payable', [p('a', 'sent', 1)], 'a'],
    ['overdue is payable', [p('a', 'overdue', 1)], 'a'],
    ['the newest of several charges in flight', [p('a', 'pending_execute', 4), p('b', 'pending_charge', 7)], 'b'],
    ['the newest charge in flight, listed first', [p('b', 'hold', 7), p('a', 'pending_charge', 4)], 'b'],
    ['the newest paid, listed first', [p('b', 'settled', 7), p('a', 'paid', 4)], 'b'],
    ['the newest open one, listed first', [p('b', 'sent', 7), p('a', 'created', 4)], 'b'],
    ['closed ones are not', [p('a', 'cancelled', 1), p('b', 'expired', 2), p('c', 'released', 3)], undefined],
    ['blocked refuses charges', [p('a', 'blocked', 1)], undefined],
    ['preauthorized is closed for a charge: not adopted', [p('a', 'preauthorized', 1)], undefined],
    // The status table (src/domain/purchase-status.ts) counts money on hold as a charge in flight: a second Purchase
    // beside it could take the period's money twice.
    ['money on hold is a charge in flight: adopted', [p('a', 'created', 3), p('b', 'hold', 1)], 'b'],
    ['paid beats a newer open one', [p('a', 'paid', 1), p('b', 'created', 2)], 'a'],
    ['refunded and charged back count as paid', [p('a', 'created', 2), p('b', 'refunded', 1)], 'b'],
    ["a paid one of another amount is still the period's money", [p('a', 'paid', 1, 500)], 'a'],
    ['a pending charge beats an open one', [p('a', 'created', 3), p('b', 'pending_charge', 1)], 'b'],
    ['the newest paid of several', [p('a', 'paid', 1), p('b', 'paid', 2)], 'b'],
    ['an open one of another amount is not', [p('a', 'created', 1, 999)], undefined],
    ['an open one of another currency is not', [p('a', 'created', 1, 1000, 'EUR')], undefined],
    ['currency compared without case', [p('a', 'created', 1, 1000, 'ngn')], 'a'],
    ['the newest open one', [p('a', 'created', 1), p('b', 'error', 5), p('c', 'cancelled', 9)], 'b'],
  ] as const)('%s', (_name, found, expected) => {
    expect(purchaseToAdopt(found, wanted)?.purchaseId).toBe(expected);
  });

  it('leaves the list it was given as it was', () => {
    const found = [p('a', 'created', 1), p('b', 'created', 2)];
    purchaseToAdopt(found, wanted);
    expect(found.map((f) => f.purchaseId)).toEqual(['a', 'b']);
  });

  it('the statuses it charges again are the open and declined ones', () => {
    expect([...REUSABLE_OPEN_STATUSES].sort()).toEqual(['created', 'error', 'overdue', 'sent', 'viewed']);
  });
});
