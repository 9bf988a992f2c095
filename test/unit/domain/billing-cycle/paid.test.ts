/**
 * The cycle took its money (src/domain/billing-cycle/paid.ts): every status that means money taken makes it paid,
 * and money on a closed cycle is never silent.
 */
import { T0, TARGETS, Cycle, purchase, settlementWrites, alerts, failedCycle, canceledCycle } from './harness';

describe('money that reaches a closed cycle is never silent', () => {
  it.each([
    ['failed', failedCycle],
    ['canceled', canceledCycle],
  ])('a %s cycle whose Purchase turns out paid raises one critical alert, and stays closed', (status, make) => {
    const c = make();
    const later = Math.floor(T0 / 1000) + 400 * 3600;
    const first = c.feed({ type: 'gateway_event', purchase: purchase('paid', { updatedOn: later }) });
    expect(alerts(first, 'paid_after_close')).toEqual([expect.objectContaining({ severity: 'critical' })]);
    expect(c.state.status).toBe(status);
    // The alert is about the money, once: a redelivery of the same webhook does not page operations again.
    const again = c.feed({ type: 'gateway_event', purchase: purchase('paid', { updatedOn: later + 60 }) });
    expect(alerts(again, 'paid_after_close')).toEqual([]);
    expect(settlementWrites(c.commands)).toEqual([]);
  });
});

describe('a Purchase in any status that means the money was taken makes the cycle paid', () => {
  // The QorePay statuses of a Purchase whose money was taken: paid, its later network stages, and the refund and
  // chargeback states that only a paid Purchase reaches (reference: qorepay.md, Purchase statuses).
  const moneyTaken = ['paid', 'cleared', 'settled', 'pending_refund', 'refunded', 'charged_back', 'chargeback'];

  it.each(moneyTaken.flatMap((status) => [[status, 'read'] as const, [status, 'webhook'] as const]))(
    '%s, seen by a %s while the charge is pending, concludes the cycle paid and settles it',
    (status, by) => {
      const c = new Cycle({ settlementTargets: TARGETS });
      c.start();
      c.feed({ type: 'charged', outcome: 'pending', purchase: purchase('pending_charge') });
      const fact = purchase(status, { updatedOn: Math.floor(T0 / 1000) + 3600 });
      c.feed({ type: 'timer' }, 1);
      const cmds =
        by === 'webhook'
          ? c.feed({ type: 'gateway_event', purchase: fact })
          : c.feed({ type: 'purchase_read', purchase: fact });
      expect(c.state.status).toBe('paid');
      expect(c.state.paidPurchaseId).toBe('pur_1');
      expect(settlementWrites(cmds)).toHaveLength(by === 'read' ? 1 : 0);
      expect(c.charges()).toHaveLength(1);
    },
  );
});
