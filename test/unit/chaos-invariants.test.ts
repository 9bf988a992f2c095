/**
 * The chaos invariants of issue 20's conditions fire when their rule is broken: each case builds the smallest world
 * (one subscription, one cycle) that obeys every rule, checks that it passes, then breaks one rule.
 */
import { checkInvariants, type ChaosWorld, type OpRecord, type ViolationKind } from '../chaos/invariants';
import type { PlannedSubscription } from '../chaos/plan';
import type { LedgerEntry } from '../../src/sandbox/qorepay/server';

const SUB = 'cs-1';
const CYCLE = `cycle:${SUB}:0`;
const P = 'pur-1';
const T = Date.parse('2026-01-01T00:10:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function world(change: (w: ChaosWorld) => void = () => undefined): ChaosWorld {
  const plan: PlannedSubscription = {
    subscriptionId: SUB,
    scenario: 'success',
    token: 'tok_success_a',
    anchorOffset: 0,
    schedule: { intervalUnit: 'day', intervalCount: 1, timeZone: 'UTC' },
    maxPeriods: 1,
    priceMinor: 1000,
    activePlatform: false,
    fault: 'none',
    delayHours: 0,
    ops: [],
  };
  const statuses = new Map([[P, { status: 'paid', total: 1000 }]]);
  const w: ChaosWorld = {
    subscriptions: [plan],
    observed: [
      {
        subscriptionId: SUB,
        execution: 'RUNNING',
        status: 'active',
        nextPeriodIndex: 1,
        schedule: { intervalUnit: 'day', intervalCount: 1, timeZone: 'UTC', anchor: '2026-01-01T00:00' },
        maxPeriods: 1,
        paymentEvents: [],
      },
    ],
    cycles: [
      {
        cycleId: CYCLE,
        subscriptionId: SUB,
        periodIndex: 0,
        execution: 'COMPLETED',
        startedAt: T - 600_000,
        closedAt: T + 3_600_000,
        status: 'paid',
        purchaseIds: [P],
        paidPurchaseId: P,
        amountMinor: 1000,
        paused: false,
      },
    ],
    ops: [],
    ledger: [{ purchaseId: P, reference: CYCLE, token: 'tok_success_a', outcome: 'success', at: iso(T) }],
    purchaseStatus: (id) => statuses.get(id),
    gatewayPayments: [],
    settlement: [{ target: 'gormic', subscriptionId: SUB, type: 'receipt', ref: P, amountMinor: 1000, status: 'ok' }],
    alerts: [],
    endSim: T + 86_400_000,
    reads: () => 3,
    readsPerHour: 2,
    recoveryRan: true,
    lostWebhooks: new Set(),
  };
  change(w);
  return w;
}

const kinds = (w: ChaosWorld): ViolationKind[] => checkInvariants(w).violations.map((v) => v.kind);
const op = (o: Partial<OpRecord> & Pick<OpRecord, 'kind'>): OpRecord => ({
  subscriptionId: SUB,
  simAt: T,
  outcome: 'ok',
  ...o,
});
const charge = (at: number, token = 'tok_success_a', outcome: LedgerEntry['outcome'] = 'success'): LedgerEntry => ({
  purchaseId: P,
  reference: CYCLE,
  token,
  outcome,
  at: iso(at),
});

it('the base world obeys every rule', () => {
  expect(kinds(world())).toEqual([]);
});

describe('throttled_stop: no charge once a stop is in effect, and no answer claims a stop that has not happened', () => {
  const chargedAfter = (stop: Partial<OpRecord>) =>
    world((w) => {
      w.ledger = [charge(T + 5_000)];
      w.ops = [op({ kind: 'cancel_now', realAck: T, ...stop })];
    });

  it('a charge after an answer without cyclesStopping (it claimed the stop) is a violation', () => {
    expect(kinds(chargedAfter({ realEffective: T }))).toContain('charge_after_cancel');
  });

  it('a charge after an answer naming the cycle, before the stop was in effect, is allowed', () => {
    expect(kinds(chargedAfter({ stopping: [CYCLE], realEffective: T + 10_000 }))).toEqual([]);
    expect(kinds(chargedAfter({ stopping: [CYCLE] }))).toEqual([]);
  });

  it('a charge after the stop came into effect is a violation', () => {
    expect(kinds(chargedAfter({ stopping: [CYCLE], realEffective: T + 1_000 }))).toContain('charge_after_cancel');
  });
});

describe('gateway_refund: never a foreign refund adopted, never more answered than the gateway refunded', () => {
  const refunds = (engineAnswer: { paymentId: string; amountMinor: number }) =>
    world((w) => {
      w.gatewayPayments = [
        { id: 'pay-foreign', purchaseId: P, type: 'refund', amountMinor: 300 },
        { id: 'pay-own', purchaseId: P, type: 'refund', amountMinor: 700 },
      ];
      w.observed[0]!.paymentEvents = w.gatewayPayments.map((g) => ({
        kind: 'refund' as const,
        cycleId: CYCLE,
        purchaseId: P,
        paymentId: g.id,
        amountMinor: g.amountMinor,
        at: iso(T),
      }));
      w.settlement.push({
        target: 'gormic',
        subscriptionId: SUB,
        type: 'refund',
        ref: `${P}:r`,
        amountMinor: 1000,
        status: 'ok',
      });
      w.ops = [
        op({
          kind: 'gateway_refund',
          purchaseId: P,
          cycleId: CYCLE,
          answer: { paymentId: 'pay-foreign', amountMinor: 300 },
        }),
        op({ kind: 'refund_full', purchaseId: P, cycleId: CYCLE, key: 'k1', answer: engineAnswer }),
      ];
    });

  it('the engine answering its own refund of what was left passes', () => {
    expect(kinds(refunds({ paymentId: 'pay-own', amountMinor: 700 }))).toEqual([]);
  });

  it('answering with the gateway-side refund is adopting it', () => {
    expect(kinds(refunds({ paymentId: 'pay-foreign', amountMinor: 700 }))).toContain('adopted_foreign_refund');
  });

  it('answering more than the gateway refunded for the engine is a violation', () => {
    expect(kinds(refunds({ paymentId: 'pay-own', amountMinor: 1000 }))).toContain('refund_exceeds_gateway');
  });
});

describe('refund_before_report: every refund at the gateway is recorded once by the subscription', () => {
  const refunded = (recorded: number, lost = false) =>
    world((w) => {
      w.gatewayPayments = [{ id: 'pay-1', purchaseId: P, type: 'refund', amountMinor: 400 }];
      w.settlement.push({
        target: 'gormic',
        subscriptionId: SUB,
        type: 'refund',
        ref: `${P}:r`,
        amountMinor: 400,
        status: 'ok',
      });
      w.observed[0]!.paymentEvents = Array.from({ length: recorded }, () => ({
        kind: 'refund' as const,
        cycleId: CYCLE,
        purchaseId: P,
        paymentId: 'pay-1',
        amountMinor: 400,
        at: iso(T),
      }));
      if (lost) w.lostWebhooks.add('pay-1');
    });

  it('recorded once passes; dropped by the subscription or recorded twice is a violation', () => {
    expect(kinds(refunded(1))).toEqual([]);
    expect(kinds(refunded(0))).toContain('payment_event_not_recorded');
    expect(kinds(refunded(2))).toContain('payment_event_not_recorded');
  });

  it('a refund whose webhook the fault layer dropped is not counted against the engine', () => {
    expect(kinds(refunded(0, true))).toEqual([]);
  });
});

describe('new_card_pending_hard: a card given while the charge was pending is used after its hard decline', () => {
  const pendingThenHard = (newCardCharged: boolean) =>
    world((w) => {
      const plan = w.subscriptions[0]!;
      plan.condition = 'new_card_pending_hard';
      plan.ops = [{ at: 0, kind: 'new_card', token: 'tok_success_new', scenario: 'success' }];
      w.ledger = [
        charge(T, 'tok_pending_hard_a', 'pending'),
        { ...charge(T + 2_000, 'tok_pending_hard_a', 'declined'), code: 'stolen_card' },
        ...(newCardCharged ? [{ ...charge(T + 3_000, 'tok_success_new'), purchaseId: 'pur-2' }] : []),
      ];
      w.cycles[0]!.purchaseIds = newCardCharged ? [P, 'pur-2'] : [P];
      w.cycles[0]!.status = newCardCharged ? 'paid' : 'failed';
      w.settlement = newCardCharged ? [{ ...w.settlement[0]!, ref: 'pur-2' }] : [];
      w.purchaseStatus = (id) => ({ status: id === 'pur-2' ? 'paid' : 'error', total: 1000 });
      w.ops = [
        op({ kind: 'new_card', realAck: T + 1_000 }),
        op({ kind: 'resolve_pending', cycleId: CYCLE, purchaseId: P, realAck: T + 2_000 }),
      ];
    });

  it('charging the new card passes; a cycle that never charged it is a violation', () => {
    expect(kinds(pendingThenHard(true))).toEqual([]);
    expect(kinds(pendingThenHard(false))).toContain('new_card_forgotten');
  });
});

describe('unnamed_status: every wait has a timer, and held money is never "no money"', () => {
  it('more reads than the bound for the hours the cycle was open is a violation', () => {
    // open 1 h 10 min: bound 20 + 2 × 1.17 → 23
    expect(kinds(world((w) => (w.reads = () => 23)))).toEqual([]);
    expect(kinds(world((w) => (w.reads = () => 1000)))).toContain('reads_unbounded');
  });

  it.each(['hold', 'pending_capture'])('a cycle closed unpaid on a Purchase in %s is a violation', (status) => {
    const closedOnHold = world((w) => {
      w.ledger = [charge(T, 'tok_unnamed_x', 'pending')];
      w.cycles[0]!.status = 'failed';
      w.settlement = [];
      w.purchaseStatus = () => ({ status, total: 1000 });
    });
    expect(kinds(closedOnHold)).toContain('held_money_as_no_money');
  });
});

describe('target_outage: what the subscription recorded as refunded is reversed at the target', () => {
  const reversedAtTarget = (amountMinor: number, recoveryRan = true) =>
    world((w) => {
      w.gatewayPayments = [{ id: 'pay-1', purchaseId: P, type: 'refund', amountMinor: 300 }];
      w.observed[0]!.paymentEvents = [
        { kind: 'refund', cycleId: CYCLE, purchaseId: P, paymentId: 'pay-1', amountMinor: 300, at: iso(T) },
      ];
      if (amountMinor > 0)
        w.settlement.push({
          target: 'gormic',
          subscriptionId: SUB,
          type: 'refund',
          ref: `${P}:pay-1`,
          amountMinor,
          status: 'ok',
        });
      w.subscriptions[0]!.condition = 'target_outage';
      w.recoveryRan = recoveryRan;
    });

  it('reversed in full passes; reversed short is a violation once the target recovered', () => {
    expect(kinds(reversedAtTarget(300))).toEqual([]);
    expect(kinds(reversedAtTarget(0))).toContain('reversal_missing_at_target');
    expect(kinds(reversedAtTarget(100))).toContain('reversal_missing_at_target');
  });

  it('is not judged before the target recovered', () => {
    expect(kinds(reversedAtTarget(0, false))).toEqual([]);
  });
});
