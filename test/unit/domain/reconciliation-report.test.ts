/**
 * What the reconciliation sweep tells people (src/domain/reconciliation.ts): each discrepancy's description, the
 * summary a finance person reads (counts, plurals, items, what could not be checked, the limits), the alert codes,
 * the event a waiting cycle is signalled, and the edges of the `--since` window.
 */
import {
  DISCREPANCY_KINDS,
  DISCREPANCY_TITLES,
  RECONCILIATION_ALERT_CODES,
  WAITING_CYCLE_STATUSES,
  outcomeEvent,
  reconcileCycle,
  type CycleObservation,
  type ReconciliationItem,
} from '../../../src/domain/reconciliation';
import {
  MAX_WINDOW_MS,
  SUMMARY_ITEM_LIMIT,
  addToSummary,
  emptySummary,
  needsAttention,
  parseDuration,
  parseSince,
  summaryText,
  totalFound,
} from '../../../src/domain/reconciliation-report';

const GORMIC = { kind: 'gormic', orderId: 'order-1', methodId: 'qorepay' } as const;
const NOW = Date.parse('2026-11-30T10:00:00Z');
const DAY = 86_400_000;

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

const asItem = (over: Partial<CycleObservation>, outcome: ReconciliationItem['outcome'], note?: string) => {
  const d = reconcileCycle(obs(over))[0];
  if (!d) throw new Error('expected a discrepancy');
  const { fix: _fix, ...rest } = d;
  return { ...rest, outcome, ...(note ? { note } : {}) } satisfies ReconciliationItem;
};

describe('each discrepancy says what is wrong, about which cycle', () => {
  it('money on a closed cycle names the status, the purchase and the choice to make', () => {
    const [d] = reconcileCycle(
      obs({ status: 'canceled', purchases: [{ purchaseId: 'p9', status: 'cleared', updatedOn: 1 }] }),
    );
    expect(d).toEqual({
      kind: 'paid_on_closed_cycle',
      cycleId: 'cycle:sub_1:3',
      subscriptionId: 'sub_1',
      periodIndex: 3,
      periodStart: '2026-11-01T00:00:00.000Z',
      periodEnd: '2026-12-01T00:00:00.000Z',
      amountMinor: 500_000,
      currency: 'NGN',
      cycleStatus: 'canceled',
      purchaseId: 'p9',
      gatewayStatus: 'cleared',
      severity: 'critical',
      description:
        'the cycle ended canceled, but purchase p9 is cleared at the gateway: money was taken and not recorded; ' +
        'refund it or record the period as paid',
    });
  });

  it('the newest paid Purchase is the one named, whatever came after it', () => {
    const purchases = [
      { purchaseId: 'p1', status: 'paid', updatedOn: 1 },
      { purchaseId: 'p2', status: 'refunded', updatedOn: 2 },
      { purchaseId: 'p3', status: 'error', updatedOn: 3 },
    ];
    expect(reconcileCycle(obs({ status: 'failed', purchases }))[0]).toMatchObject({ purchaseId: 'p2' });
  });

  it('a waiting cycle is told of the closure or decline of its current Purchase only while pending', () => {
    for (const status of ['error', 'blocked', 'cancelled', 'expired']) {
      const [d] = reconcileCycle(
        obs({ open: true, status: 'pending', purchases: [{ purchaseId: 'p1', status, updatedOn: 5 }] }),
      );
      expect(d).toMatchObject({
        kind: 'outcome_waiting',
        purchaseId: 'p1',
        gatewayStatus: status,
        severity: 'warning',
        description: `the cycle is pending, but purchase p1 is already ${status} at the gateway`,
      });
    }
    // Waiting for a retry or a new card, a declined or closed Purchase is what the cycle already knows.
    for (const status of ['retry_scheduled', 'action_required'] as const) {
      expect(
        reconcileCycle(obs({ open: true, status, purchases: [{ purchaseId: 'p1', status: 'error', updatedOn: 5 }] })),
      ).toEqual([]);
      expect(
        reconcileCycle(obs({ open: true, status, purchases: [{ purchaseId: 'p1', status: 'paid', updatedOn: 5 }] })),
      ).toEqual([
        expect.objectContaining({
          kind: 'outcome_waiting',
          description: `the cycle is ${status}, but purchase p1 is already paid at the gateway`,
        }),
      ]);
    }
    // Only the current Purchase's decline counts: an older declined one with a newer open one is no outcome.
    const older = [
      { purchaseId: 'p1', status: 'error', updatedOn: 1 },
      { purchaseId: 'p2', status: 'created', updatedOn: 2 },
    ];
    expect(reconcileCycle(obs({ open: true, status: 'pending', purchases: older }))).toEqual([]);
    // A closed workflow is not signalled.
    expect(
      reconcileCycle(
        obs({ open: false, status: 'pending', purchases: [{ purchaseId: 'p1', status: 'paid', updatedOn: 5 }] }),
      ),
    ).toEqual([]);
    expect(WAITING_CYCLE_STATUSES).toEqual(['pending', 'retry_scheduled', 'action_required']);
  });

  it('a missing settlement says whether the record is absent or incomplete, and when no purchase id is known', () => {
    const absent = reconcileCycle(obs({ settlements: [{ target: GORMIC, presence: 'absent' }] }))[0];
    expect(absent).toMatchObject({
      kind: 'settlement_missing',
      purchaseId: 'p1',
      gatewayStatus: 'paid',
      target: 'gormic',
      severity: 'warning',
      description: 'the cycle is paid, but gormic has no record of it',
    });
    const incomplete = reconcileCycle(obs({ settlements: [{ target: GORMIC, presence: 'incomplete' }] }))[0];
    expect(incomplete?.description).toBe('the cycle is paid, but gormic has only an incomplete record of it');
    // The cycle's own paid Purchase is the one to record under, before any the gateway shows.
    const own = reconcileCycle(obs({ paidPurchaseId: 'p7', settlements: [{ target: GORMIC, presence: 'absent' }] }))[0];
    expect(own?.fix).toEqual({ type: 'record_settlement', target: GORMIC, purchaseId: 'p7' });
    // No Purchase at all: nothing to record under, so a person is asked.
    const none = reconcileCycle(obs({ purchases: [], settlements: [{ target: GORMIC, presence: 'absent' }] }))[0];
    expect(none).toEqual(
      expect.objectContaining({
        severity: 'critical',
        description: 'the cycle is paid, but gormic has no record of it and no purchase id is known to record it under',
      }),
    );
    expect(none).not.toHaveProperty('fix');
    expect(none).not.toHaveProperty('purchaseId');
    expect(none).not.toHaveProperty('gatewayStatus');
  });

  it('a record without a paid cycle names the record and the status; an incomplete one counts, a reversed one does not', () => {
    const failed = { status: 'failed' as const, purchases: [{ purchaseId: 'p1', status: 'error', updatedOn: 1 }] };
    const [withId] = reconcileCycle(
      obs({ ...failed, settlements: [{ target: GORMIC, presence: 'recorded', externalId: 'g-1' }] }),
    );
    expect(withId).toMatchObject({
      purchaseId: 'p1',
      gatewayStatus: 'error',
      description: 'gormic holds a record (g-1) for this cycle, but the cycle is failed, not paid',
    });
    const [bare] = reconcileCycle(
      obs({ ...failed, purchases: [], settlements: [{ target: GORMIC, presence: 'incomplete' }] }),
    );
    expect(bare?.description).toBe('gormic holds a record for this cycle, but the cycle is failed, not paid');
    expect(bare).not.toHaveProperty('purchaseId');
    expect(reconcileCycle(obs({ ...failed, settlements: [{ target: GORMIC, presence: 'reversed' }] }))).toEqual([]);
    expect(reconcileCycle(obs({ ...failed, settlements: [{ target: GORMIC, presence: 'absent' }] }))).toEqual([]);
  });

  it('a cycle without a period leaves the period out', () => {
    const { periodStart: _s, periodEnd: _e, ...noPeriod } = obs({ status: 'failed' });
    const [d] = reconcileCycle(noPeriod);
    expect(d).not.toHaveProperty('periodStart');
    expect(d).not.toHaveProperty('periodEnd');
  });
});

describe('outcomeEvent', () => {
  it('is the webhook ingress event of the Purchase, carrying decline details and mark-paid only when there', () => {
    expect(
      outcomeEvent({
        purchaseId: 'p1',
        status: 'error',
        updatedOn: 7,
        declineCode: 'do_not_honour',
        declineMessage: 'Do not honour',
        markedAsPaid: true,
      }),
    ).toEqual({
      eventType: 'reconciliation.purchase.error',
      purchaseId: 'p1',
      status: 'error',
      updatedOn: 7,
      declineCode: 'do_not_honour',
      declineMessage: 'Do not honour',
      markedAsPaid: true,
    });
    expect(outcomeEvent({ purchaseId: 'p1', status: 'paid', updatedOn: 7, markedAsPaid: false })).toEqual({
      eventType: 'reconciliation.purchase.paid',
      purchaseId: 'p1',
      status: 'paid',
      updatedOn: 7,
    });
  });
});

describe('alert codes and titles', () => {
  it('each kind has its own searchable alert code and its own title', () => {
    for (const k of DISCREPANCY_KINDS) expect(RECONCILIATION_ALERT_CODES[k]).toBe(`reconciliation_${k}`);
    expect(DISCREPANCY_TITLES).toEqual({
      paid_on_closed_cycle: 'Money taken on a cycle that ended unpaid',
      outcome_waiting: 'Cycle waiting for an outcome the gateway already has',
      settlement_missing: 'Paid cycle missing its settlement record',
      settlement_without_paid_cycle: 'Settlement record without a paid cycle',
    });
  });
});

describe('the summary', () => {
  const money = (m: number, c: string) => `${c} ${m / 100}`;
  const since = '2026-11-28T10:00:00.000Z';
  const started = '2026-11-30T10:00:00.000Z';

  it('an empty sweep says so, running or finished, with singular and plural counts', () => {
    const s = emptySummary(since, started);
    expect(summaryText(addToSummary(s, { checked: 1, items: [], unchecked: [] }), money)).toBe(
      [
        `Reconciliation running: 1 cycle checked (open ones, and closed since ${since}); started ${started}.`,
        'No discrepancies.',
        '- Money taken on a cycle that ended unpaid: 0 (fixed 0, reported 0, fix failed 0)',
        '- Cycle waiting for an outcome the gateway already has: 0 (fixed 0, reported 0, fix failed 0)',
        '- Paid cycle missing its settlement record: 0 (fixed 0, reported 0, fix failed 0)',
        '- Settlement record without a paid cycle: 0 (fixed 0, reported 0, fix failed 0)',
      ].join('\n'),
    );
    const finished = {
      ...addToSummary(s, { checked: 2, items: [], unchecked: [] }),
      finishedAt: '2026-11-30T10:05:00.000Z',
    };
    expect(summaryText(finished, money).split('\n')[0]).toBe(
      `Reconciliation finished: 2 cycles checked (open ones, and closed since ${since}); started ${started}, finished 2026-11-30T10:05:00.000Z.`,
    );
  });

  it('lists each item with its outcome, period, purchase, amount, target and note, and what could not be checked', () => {
    const reported = asItem({ status: 'failed' }, 'reported');
    const fixed = asItem({ settlements: [{ target: GORMIC, presence: 'absent' }] }, 'fixed', 'recorded g-2');
    const {
      periodStart: _s,
      periodEnd: _e,
      purchaseId: _p,
      ...failedFix
    } = asItem(
      { open: true, status: 'pending', purchases: [{ purchaseId: 'p1', status: 'paid', updatedOn: 1 }] },
      'fix_failed',
    );
    let s = emptySummary(since, started);
    s = addToSummary(s, {
      checked: 3,
      items: [reported, fixed, failedFix],
      unchecked: [{ cycleId: 'cycle:x:1', reason: 'gateway down' }],
    });
    expect(s.counts).toEqual({
      paid_on_closed_cycle: { found: 1, fixed: 0, reported: 1, fixFailed: 0 },
      outcome_waiting: { found: 1, fixed: 0, reported: 0, fixFailed: 1 },
      settlement_missing: { found: 1, fixed: 1, reported: 0, fixFailed: 0 },
      settlement_without_paid_cycle: { found: 0, fixed: 0, reported: 0, fixFailed: 0 },
    });
    expect(totalFound(s)).toBe(3);
    expect(needsAttention(s)).toBe(2);
    const lines = summaryText(s, money).split('\n');
    expect(lines.slice(1)).toEqual([
      '3 discrepancies; 2 need a person (reported or not fixed).',
      '- Money taken on a cycle that ended unpaid: 1 (fixed 0, reported 1, fix failed 0)',
      '- Cycle waiting for an outcome the gateway already has: 1 (fixed 0, reported 0, fix failed 1)',
      '- Paid cycle missing its settlement record: 1 (fixed 1, reported 0, fix failed 0)',
      '- Settlement record without a paid cycle: 0 (fixed 0, reported 0, fix failed 0)',
      '',
      'Items:',
      `- [reported] Money taken on a cycle that ended unpaid: subscription sub_1, period 3 (2026-11-01..2026-12-01), purchase p1, NGN 5000. ${reported.description}`,
      `- [fixed] Paid cycle missing its settlement record: subscription sub_1, period 3 (2026-11-01..2026-12-01), purchase p1, NGN 5000, target gormic. ${fixed.description} (recorded g-2)`,
      `- [fix_failed] Cycle waiting for an outcome the gateway already has: subscription sub_1, period 3 (?), purchase none, NGN 5000. ${failedFix.description}`,
      '',
      'Could not check:',
      '- cycle:x:1: gateway down',
    ]);
    const one = addToSummary(emptySummary(since, started), { checked: 1, items: [reported], unchecked: [] });
    expect(summaryText(one, money).split('\n')[1]).toBe('1 discrepancy; 1 need a person (reported or not fixed).');
  });

  it('keeps at most SUMMARY_ITEM_LIMIT items and unchecked cycles, counting the rest, and says how many more', () => {
    const item = asItem({ status: 'failed' }, 'reported');
    const unchecked = Array.from({ length: SUMMARY_ITEM_LIMIT + 3 }, (_, i) => ({ cycleId: `c${i}`, reason: 'down' }));
    const before = emptySummary(since, started);
    const s = addToSummary(before, {
      checked: 5,
      items: Array.from({ length: SUMMARY_ITEM_LIMIT + 2 }, () => item),
      unchecked,
    });
    expect(before.items).toEqual([]); // the input is not modified
    expect(s.items).toHaveLength(SUMMARY_ITEM_LIMIT);
    expect(s.itemsOmitted).toBe(2);
    expect(s.unchecked).toHaveLength(SUMMARY_ITEM_LIMIT);
    expect(s.uncheckedOmitted).toBe(3);
    expect(s.counts.paid_on_closed_cycle.found).toBe(SUMMARY_ITEM_LIMIT + 2);
    const text = summaryText(s, money);
    expect(text).toContain('\n- ... and 2 more (counted above)\n');
    expect(text.endsWith('\n- ... and 3 more')).toBe(true);
  });
});

describe('the --since window', () => {
  it('durations: minutes, hours, days, up to six digits, spaces around allowed, zero and other units refused', () => {
    expect(parseDuration(' 90m ')).toBe(90 * 60_000);
    expect(parseDuration('999999m')).toBe(999_999 * 60_000);
    expect(parseDuration('1000000m')).toBeUndefined();
    expect(parseDuration('0d')).toBeUndefined();
    expect(parseDuration('1.5h')).toBeUndefined();
    expect(parseDuration('h')).toBeUndefined();
    expect(parseDuration('2hh')).toBeUndefined();
    expect(parseDuration('x2h')).toBeUndefined();
  });

  it('a window reaches back at most 366 days, to the millisecond; now itself is in the past', () => {
    expect(MAX_WINDOW_MS).toBe(366 * DAY);
    expect(parseSince('366d', NOW)).toEqual({ ok: true, since: new Date(NOW - 366 * DAY).toISOString() });
    expect(parseSince('367d', NOW)).toEqual({ ok: false, message: 'must be at most 366 days back' });
    expect(parseSince(new Date(NOW - 366 * DAY).toISOString(), NOW)).toMatchObject({ ok: true });
    expect(parseSince(new Date(NOW - 366 * DAY - 1).toISOString(), NOW)).toMatchObject({ ok: false });
    expect(parseSince(new Date(NOW).toISOString(), NOW)).toEqual({ ok: true, since: new Date(NOW).toISOString() });
    expect(parseSince(new Date(NOW + 1).toISOString(), NOW)).toEqual({ ok: false, message: 'must be in the past' });
  });

  it('dates and instants: with a space or T, an offset with or without a colon, spaces around; nothing else', () => {
    expect(parseSince(' 2026-11-29 08:30:00+02:00 ', NOW)).toEqual({ ok: true, since: '2026-11-29T06:30:00.000Z' });
    expect(parseSince('2026-11-29T08:30:00-0100', NOW)).toMatchObject({ ok: true });
    expect(parseSince('2026-11-29T08:30', NOW)).toMatchObject({ ok: true });
    for (const bad of ['x2026-11-29', '2026-11-29x', '26-11-29', '2026-11-29T', 'T08:30']) {
      expect(parseSince(bad, NOW)).toMatchObject({ ok: false });
    }
  });
});
