/**
 * The reconciliation classifier without Temporal: one table test per discrepancy kind, the fixes it proposes fed to
 * the real cycle machine, the summary and the `--since` windows; then fast-check properties over arbitrary
 * observations: only safe fixes are ever proposed, a settlement is never written where one exists, and applying the
 * fixes leaves nothing to fix on the next sweep.
 */
import fc from 'fast-check';
import {
  CYCLE_STATUSES,
  decideCycle,
  initialCycleState,
  isPaidCycleStatus,
  type CycleMachineState,
  type CycleStatus,
} from '../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY } from '../../../src/domain/dunning';
import {
  DISCREPANCY_KINDS,
  WAITING_CYCLE_STATUSES,
  reconcileCycle,
  type CycleObservation,
  type Discrepancy,
  type GatewayPurchase,
  type ReconciliationItem,
  type SettlementCheck,
} from '../../../src/domain/reconciliation';
import {
  addToSummary,
  emptySummary,
  needsAttention,
  parseDuration,
  parseSince,
  summaryText,
  totalFound,
} from '../../../src/domain/reconciliation-report';

const GORMIC = { kind: 'gormic', orderId: 'order-1', methodId: 'qorepay' } as const;
const AP = { kind: 'activeplatform', accountId: '41', paymentMethodId: 7 } as const;
const NOW = Date.parse('2026-11-30T10:00:00Z');

function obs(over: Partial<CycleObservation>): CycleObservation {
  return {
    cycleId: 'cycle:sub_1:3',
    subscriptionId: 'sub_1',
    periodIndex: 3,
    periodStart: '2026-11-01T00:00:00.000Z',
    periodEnd: '2026-12-01T00:00:00.000Z',
    amountMinor: 500_000,
    currency: 'NGN',
    open: false,
    status: 'paid',
    settlementFailed: false,
    purchases: [{ purchaseId: 'p1', status: 'paid', updatedOn: 100 }],
    settlements: [],
    ...over,
  };
}

describe('reconcileCycle', () => {
  it('reports money taken on a cycle that ended failed or canceled, with no fix', () => {
    for (const status of ['failed', 'canceled'] as const) {
      const found = reconcileCycle(obs({ status, purchases: [{ purchaseId: 'p1', status: 'paid', updatedOn: 9 }] }));
      expect(found).toEqual([
        expect.objectContaining({ kind: 'paid_on_closed_cycle', purchaseId: 'p1', severity: 'critical' }),
      ]);
      expect(found[0]!.fix).toBeUndefined();
    }
    expect(
      reconcileCycle(obs({ status: 'failed', purchases: [{ purchaseId: 'p1', status: 'error', updatedOn: 9 }] })),
    ).toEqual([]);
  });

  it('signals a waiting cycle the outcome the gateway has, which the cycle machine acts on', () => {
    const found = reconcileCycle(
      obs({ open: true, status: 'pending', purchases: [{ purchaseId: 'p1', status: 'paid', updatedOn: 200 }] }),
    );
    expect(found).toEqual([expect.objectContaining({ kind: 'outcome_waiting', gatewayStatus: 'paid' })]);
    const fix = found[0]!.fix;
    if (fix?.type !== 'signal_outcome') throw new Error('expected a signal');
    expect(fix.event).toEqual({
      eventType: 'reconciliation.purchase.paid',
      purchaseId: 'p1',
      status: 'paid',
      updatedOn: 200,
    });

    // Fed to the real machine, a pending cycle concludes paid.
    const pending = pendingCycle('p1');
    const paid = decideCycle(pending, { type: 'gateway_event', purchase: fix.event }, ctx());
    expect(paid.state.status).toBe('paid');

    // A declined outcome is a hint: the machine confirms it by reading the Purchase.
    const declined = reconcileCycle(
      obs({
        open: true,
        status: 'pending',
        purchases: [{ purchaseId: 'p1', status: 'error', updatedOn: 300, declineCode: 'do_not_honour' }],
      }),
    );
    const dfix = declined[0]?.fix;
    if (dfix?.type !== 'signal_outcome') throw new Error('expected a signal');
    const next = decideCycle(pending, { type: 'gateway_event', purchase: dfix.event }, ctx());
    expect(next.commands).toContainEqual(expect.objectContaining({ type: 'read_purchase', purchaseId: 'p1' }));
  });

  it('leaves a cycle alone while the gateway has no outcome yet, and transient states to the cycle', () => {
    expect(
      reconcileCycle(
        obs({
          open: true,
          status: 'pending',
          purchases: [{ purchaseId: 'p1', status: 'pending_charge', updatedOn: 1 }],
        }),
      ),
    ).toEqual([]);
    for (const status of ['creating', 'charging'] as const) {
      expect(
        reconcileCycle(obs({ open: true, status, purchases: [{ purchaseId: 'p1', status: 'paid', updatedOn: 1 }] })),
      ).toEqual([]);
    }
  });

  it('records a closed paid cycle’s missing settlement through the writer, and asks an open one to retry', () => {
    const closed = reconcileCycle(
      obs({
        settlements: [
          { target: GORMIC, presence: 'absent' },
          { target: AP, presence: 'recorded' },
        ],
      }),
    );
    expect(closed).toEqual([
      expect.objectContaining({
        kind: 'settlement_missing',
        target: 'gormic',
        fix: { type: 'record_settlement', target: GORMIC, purchaseId: 'p1' },
      }),
    ]);
    const open = reconcileCycle(
      obs({ open: true, settlementFailed: true, settlements: [{ target: GORMIC, presence: 'absent' }] }),
    );
    expect(open[0]?.fix).toEqual({ type: 'retry_settlement' });
    // Still writing its own settlement: not a discrepancy.
    expect(reconcileCycle(obs({ open: true, settlements: [{ target: GORMIC, presence: 'absent' }] }))).toEqual([]);
    // A reversed record (refund, chargeback) is not missing.
    expect(reconcileCycle(obs({ settlements: [{ target: AP, presence: 'reversed' }] }))).toEqual([]);
  });

  it('reports a live settlement record of a cycle that is not paid', () => {
    const found = reconcileCycle(
      obs({
        status: 'failed',
        purchases: [{ purchaseId: 'p1', status: 'error', updatedOn: 1 }],
        settlements: [{ target: GORMIC, presence: 'recorded', externalId: 'g-1' }],
      }),
    );
    expect(found).toEqual([
      expect.objectContaining({ kind: 'settlement_without_paid_cycle', target: 'gormic', severity: 'critical' }),
    ]);
    expect(found[0]!.fix).toBeUndefined();
  });
});

describe('summary', () => {
  it('counts each kind by outcome, lists items for people, and caps the list', () => {
    const d = reconcileCycle(obs({ status: 'failed' }))[0]!;
    const { fix: _fix, ...rest } = d;
    const item: ReconciliationItem = { ...rest, outcome: 'reported' };
    let s = emptySummary('2026-11-28T10:00:00.000Z', '2026-11-30T10:00:00.000Z');
    s = addToSummary(s, { checked: 3, items: [item], unchecked: [{ cycleId: 'cycle:x:1', reason: 'gateway down' }] });
    expect(s.cyclesChecked).toBe(3);
    expect(s.counts.paid_on_closed_cycle).toEqual({ found: 1, fixed: 0, reported: 1, fixFailed: 0 });
    expect(totalFound(s)).toBe(1);
    expect(needsAttention(s)).toBe(1);
    const text = summaryText(s, (m, c) => `${m / 100} ${c}`);
    expect(text).toContain('Money taken on a cycle that ended unpaid: 1 (fixed 0, reported 1, fix failed 0)');
    expect(text).toContain('subscription sub_1, period 3 (2026-11-01..2026-12-01), purchase p1, 5000 NGN');
    expect(text).toContain('cycle:x:1: gateway down');

    const many = addToSummary(s, { checked: 300, items: Array.from({ length: 300 }, () => item), unchecked: [] });
    expect(many.items).toHaveLength(200);
    expect(many.itemsOmitted).toBe(101);
    expect(many.counts.paid_on_closed_cycle.found).toBe(301);
  });
});

describe('windows', () => {
  it('reads durations and past dates, and names what is wrong otherwise', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('48h')).toBe(172_800_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('0h')).toBeUndefined();
    expect(parseDuration('1w')).toBeUndefined();
    expect(parseSince('24h', NOW)).toEqual({ ok: true, since: '2026-11-29T10:00:00.000Z' });
    expect(parseSince('2026-11-01', NOW)).toEqual({ ok: true, since: '2026-11-01T00:00:00.000Z' });
    expect(parseSince('2026-11-29T08:30:00Z', NOW)).toEqual({ ok: true, since: '2026-11-29T08:30:00.000Z' });
    const refused = parseSince('yesterday', NOW);
    expect(refused.ok === false && refused.message).toMatch(/must be a duration \(30m, 48h, 7d\) or an ISO date/);
    expect(parseSince('2027-01-01', NOW)).toEqual({ ok: false, message: 'must be in the past' });
    expect(parseSince('2024-01-01', NOW)).toEqual({ ok: false, message: 'must be at most 366 days back' });
    expect(parseSince('2026-13-45', NOW)).toEqual({ ok: false, message: 'is not a valid date' });
  });
});

// ------------------------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------------------------

const PURCHASE_STATUSES = [
  'created',
  'pending_charge',
  'pending_execute',
  'paid',
  'cleared',
  'refunded',
  'charged_back',
  'error',
  'blocked',
  'cancelled',
  'expired',
];
const purchaseArb: fc.Arbitrary<GatewayPurchase> = fc.record({
  purchaseId: fc.constantFrom('p1', 'p2', 'p3'),
  status: fc.constantFrom(...PURCHASE_STATUSES),
  updatedOn: fc.nat({ max: 10_000 }),
});
const checkArb: fc.Arbitrary<SettlementCheck> = fc.record({
  target: fc.constantFrom(GORMIC, AP),
  presence: fc.constantFrom('recorded', 'incomplete', 'reversed', 'absent'),
});
const observationArb: fc.Arbitrary<CycleObservation> = fc
  .record({
    open: fc.boolean(),
    status: fc.constantFrom(...CYCLE_STATUSES),
    settlementFailed: fc.boolean(),
    purchases: fc.uniqueArray(purchaseArb, { selector: (p) => p.purchaseId, maxLength: 3 }),
    settlements: fc.uniqueArray(checkArb, { selector: (c) => c.target.kind, maxLength: 2 }),
    paidPurchaseId: fc.option(fc.constantFrom('p1', 'p2', 'p3'), { nil: undefined }),
  })
  .map(({ paidPurchaseId, ...o }) => obs({ ...o, ...(paidPurchaseId ? { paidPurchaseId } : {}) }));

describe('reconcileCycle properties', () => {
  it('proposes only safe fixes: the gateway’s own outcome to a waiting open cycle, settlement only where none is live', () => {
    fc.assert(
      fc.property(observationArb, (o) => {
        for (const d of reconcileCycle(o)) {
          if (d.kind === 'paid_on_closed_cycle' || d.kind === 'settlement_without_paid_cycle') {
            expect(d.fix).toBeUndefined();
          }
          const fix = d.fix;
          if (fix?.type === 'signal_outcome') {
            expect(o.open).toBe(true);
            expect(WAITING_CYCLE_STATUSES).toContain(o.status);
            // Exactly what the gateway says about one of the cycle's own Purchases.
            expect(o.purchases).toContainEqual(
              expect.objectContaining({ purchaseId: fix.event.purchaseId, status: fix.event.status }),
            );
          }
          if (fix?.type === 'retry_settlement') {
            expect(o.open && o.settlementFailed && isPaidCycleStatus(o.status)).toBe(true);
          }
          if (fix?.type === 'record_settlement') {
            expect(o.open).toBe(false);
            expect(isPaidCycleStatus(o.status)).toBe(true);
            const check = o.settlements.find((c) => c.target.kind === fix.target.kind);
            expect(check?.presence === 'absent' || check?.presence === 'incomplete').toBe(true);
          }
        }
      }),
    );
  });

  it('leaves nothing to fix once its fixes are applied: a second sweep writes nothing again', () => {
    fc.assert(
      fc.property(observationArb, (o) => {
        const fixed = applyFixes(o, reconcileCycle(o));
        for (const d of reconcileCycle(fixed)) expect(d.fix).toBeUndefined();
      }),
    );
  });

  it('finds nothing in a paid cycle the gateway and every target agree with', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.constantFrom<CycleStatus>('paid', 'marked_paid'), (open, status) => {
        const o = obs({
          open,
          status,
          settlements: [
            { target: GORMIC, presence: 'recorded' },
            { target: AP, presence: 'recorded' },
          ],
        });
        expect(reconcileCycle(o)).toEqual([]);
      }),
    );
  });

  it('summary counts agree with the items, whatever their outcomes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom(...DISCREPANCY_KINDS),
            outcome: fc.constantFrom('fixed', 'reported', 'fix_failed' as const),
          }),
          { maxLength: 300 },
        ),
        (rows) => {
          const base = reconcileCycle(obs({ status: 'failed' }))[0]!;
          const { fix: _fix, ...rest } = base;
          const items: ReconciliationItem[] = rows.map((r) => ({ ...rest, ...r }));
          const s = addToSummary(emptySummary('a', 'b'), { checked: rows.length, items, unchecked: [] });
          expect(totalFound(s)).toBe(rows.length);
          for (const k of DISCREPANCY_KINDS) {
            const c = s.counts[k];
            expect(c.found).toBe(rows.filter((r) => r.kind === k).length);
            expect(c.fixed + c.reported + c.fixFailed).toBe(c.found);
          }
          expect(s.items.length + s.itemsOmitted).toBe(rows.length);
        },
      ),
    );
  });
});

/** The world after the sweep's fixes took: signalled cycles concluded, settlement written where it was missing. */
function applyFixes(o: CycleObservation, found: Discrepancy[]): CycleObservation {
  let next: CycleObservation = { ...o, settlements: o.settlements.map((c) => ({ ...c })) };
  for (const d of found) {
    const fix = d.fix;
    if (fix?.type === 'signal_outcome') {
      const paid = ['paid', 'cleared', 'settled', 'refunded', 'charged_back', 'pending_refund', 'chargeback'];
      // Paid: the cycle goes on to write its own settlement (open, not failed). Otherwise it ends failed.
      const isPaid = paid.includes(fix.event.status);
      next = { ...next, status: isPaid ? 'paid' : 'failed', open: isPaid, settlementFailed: false };
      if (next.status === 'paid') next.paidPurchaseId = fix.event.purchaseId;
    } else if (fix?.type === 'retry_settlement') {
      next.settlements = next.settlements.map((c) => ({ ...c, presence: 'recorded' }));
      next.settlementFailed = false;
    } else if (fix?.type === 'record_settlement') {
      next.settlements = next.settlements.map((c) =>
        c.target.kind === fix.target.kind ? { ...c, presence: 'recorded' } : c,
      );
    }
  }
  return next;
}

function ctx() {
  return { now: NOW, policy: DEFAULT_DUNNING_POLICY };
}

/** A cycle whose charge went pending at the gateway (purchase created, charged, answered pending). */
function pendingCycle(purchaseId: string): CycleMachineState {
  let s = initialCycleState({ token: 'tok_1', amountMinor: 500_000 });
  s = decideCycle(s, { type: 'started' }, ctx()).state;
  s = decideCycle(
    s,
    { type: 'purchase_created', purchase: { purchaseId, status: 'created', updatedOn: 10 } },
    ctx(),
  ).state;
  s = decideCycle(
    s,
    { type: 'charged', outcome: 'pending', purchase: { purchaseId, status: 'pending_charge', updatedOn: 20 } },
    ctx(),
  ).state;
  expect(s.status).toBe('pending');
  return s;
}
