/**
 * The one table of QorePay Purchase statuses (src/domain/purchase-status.ts): that it names every status the gateway
 * documents, that each status has one coherent meaning, that every reader (zod enum, sandbox, machine) uses it, and,
 * as properties of the billing-cycle machine over every status, the rules issue 20 (defect 6) found broken:
 * every wait has a timer, and money in flight is never concluded as "no money".
 */
import fc from 'fast-check';
import {
  decideCycle,
  initialCycleState,
  isPaidCycleStatus,
  type CycleCommand,
  type CycleEvent,
  type CycleMachineState,
} from '../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY } from '../../../src/domain/dunning';
import {
  PURCHASE_STATUSES,
  PURCHASE_STATUS_TABLE,
  UNKNOWN_STATUS_TRAITS,
  isChargeInFlightStatus,
  isClosedStatus,
  isDeclinedStatus,
  isKnownPurchaseStatus,
  isMoneyTakenStatus,
  isOpenStatus,
  purchaseStatusTraits,
  statusesWhere,
  type PurchaseStatusTraits,
} from '../../../src/domain/purchase-status';
import { PurchaseStatusSchema } from '../../../src/integrations/qorepay/schemas';
import { CANCELLABLE, CHARGEABLE, IN_FLIGHT, PAID_LIKE, REFUNDABLE } from '../../../src/sandbox/qorepay/model';

/** The CHIP Collect status enum as the gateway reference lists it (section 3), QorePay's `charged_back` included. */
const DOCUMENTED = [
  'created',
  'sent',
  'viewed',
  'overdue',
  'error',
  'blocked',
  'pending_execute',
  'pending_charge',
  'hold',
  'pending_capture',
  'pending_release',
  'preauthorized',
  'paid',
  'cleared',
  'settled',
  'pending_refund',
  'refunded',
  'chargeback',
  'charged_back',
  'cancelled',
  'expired',
  'released',
];

/**
 * Each trait and the statuses that have it, written out from the gateway reference's "Purchase statuses" section (not
 * from the table), so a status given a wrong trait, or losing one, fails here.
 */
const WITH_TRAIT: Record<keyof Omit<PurchaseStatusTraits, 'meaning'>, string[]> = {
  moneyTaken: ['paid', 'cleared', 'settled', 'pending_refund', 'refunded', 'chargeback', 'charged_back'],
  reversed: ['pending_refund', 'refunded', 'chargeback', 'charged_back'],
  chargeInFlight: ['pending_execute', 'pending_charge', 'hold', 'pending_capture', 'pending_release'],
  declined: ['error', 'blocked'],
  closed: ['blocked', 'preauthorized', 'cancelled', 'expired', 'released'],
  // A recurring-token charge and a cancel are accepted on open Purchases and after a failed attempt.
  chargeable: ['created', 'sent', 'viewed', 'overdue', 'error'],
  cancellable: ['created', 'sent', 'viewed', 'overdue', 'error'],
  // A refund is accepted on paid Purchases, and again on a partly refunded one (not while a refund is in flight).
  refundable: ['paid', 'cleared', 'settled', 'refunded'],
  // An outcome: money taken, a failed attempt, or a Purchase that can take no money any more.
  concludesCharge: [
    'error',
    'blocked',
    'preauthorized',
    'paid',
    'cleared',
    'settled',
    'cancelled',
    'expired',
    'released',
  ],
  savesToken: ['preauthorized', 'paid', 'cleared', 'settled'],
};

describe('each trait belongs to the statuses the gateway reference gives it', () => {
  test.each(Object.entries(WITH_TRAIT))('%s', (trait, statuses) => {
    const key = trait as keyof typeof WITH_TRAIT;
    expect(statusesWhere(key).sort()).toEqual([...statuses].sort());
    for (const status of PURCHASE_STATUSES) expect(purchaseStatusTraits(status)[key]).toBe(statuses.includes(status));
  });

  test('the predicates read the same traits; open is chargeable without a failed attempt', () => {
    const where = (p: (s: string) => boolean) => PURCHASE_STATUSES.filter(p).sort();
    expect(where(isMoneyTakenStatus)).toEqual([...WITH_TRAIT.moneyTaken].sort());
    expect(where(isChargeInFlightStatus)).toEqual([...WITH_TRAIT.chargeInFlight].sort());
    expect(where(isDeclinedStatus)).toEqual([...WITH_TRAIT.declined].sort());
    expect(where(isClosedStatus)).toEqual([...WITH_TRAIT.closed].sort());
    expect(where(isOpenStatus)).toEqual(['created', 'overdue', 'sent', 'viewed']);
  });

  test('a status the table does not name has in flight as its only trait, for every predicate', () => {
    for (const unknown of ['a_status_added_later', 'PAID', 'toString', 'constructor', '']) {
      expect(isKnownPurchaseStatus(unknown)).toBe(false);
      expect(purchaseStatusTraits(unknown)).toBe(UNKNOWN_STATUS_TRAITS);
      expect(
        [isMoneyTakenStatus, isChargeInFlightStatus, isDeclinedStatus, isClosedStatus, isOpenStatus].map((p) =>
          p(unknown),
        ),
      ).toEqual([false, true, false, false, false]);
    }
    const { meaning, ...traits } = UNKNOWN_STATUS_TRAITS;
    expect(
      Object.entries(traits)
        .filter(([, v]) => v)
        .map(([k]) => k),
    ).toEqual(['chargeInFlight']);
    expect(meaning.length).toBeGreaterThan(0);
    expect(PURCHASE_STATUSES.every(isKnownPurchaseStatus)).toBe(true);
  });

  test('every status has a meaning, in words', () => {
    for (const status of PURCHASE_STATUSES) expect(PURCHASE_STATUS_TABLE[status].meaning).toMatch(/\w{3}/);
  });
});

describe('the table', () => {
  test('names every documented status, and the zod enum is built from it', () => {
    expect([...PURCHASE_STATUSES].sort()).toEqual([...DOCUMENTED].sort());
    expect([...PurchaseStatusSchema.options].sort()).toEqual([...DOCUMENTED].sort());
  });

  test.each(PURCHASE_STATUSES)('%s has exactly one meaning for a charge', (status) => {
    const t = PURCHASE_STATUS_TABLE[status];
    // One class: open, declined, in flight, money taken, or closed (blocked is declined and closed: it refuses charges).
    const classes = [t.chargeable && !t.declined, t.declined, t.chargeInFlight, t.moneyTaken, t.closed && !t.declined];
    expect(classes.filter(Boolean)).toHaveLength(1);
    if (t.moneyTaken || t.chargeInFlight || t.closed) expect(t.chargeable).toBe(false);
    if (t.reversed) expect(t.moneyTaken).toBe(true);
    if (t.refundable) expect(t.moneyTaken).toBe(true);
    if (t.cancellable) expect(t.moneyTaken || t.chargeInFlight || t.closed).toBe(false);
    // A webhook concludes a charge only with an outcome: never while it is in flight or merely open.
    if (t.concludesCharge) expect(t.moneyTaken || t.declined || t.closed).toBe(true);
    expect(t.meaning.length).toBeGreaterThan(0);
  });

  test('a status the table does not name is a charge in flight: wait, never charge, never conclude', () => {
    const t = purchaseStatusTraits('a_status_added_later');
    expect(t).toMatchObject({ chargeInFlight: true, chargeable: false, moneyTaken: false, closed: false });
  });

  test('the sandbox reads the same table', () => {
    expect([...PAID_LIKE]).toEqual(statusesWhere('moneyTaken'));
    expect([...REFUNDABLE]).toEqual(statusesWhere('refundable'));
    expect([...CANCELLABLE]).toEqual(statusesWhere('cancellable'));
    expect([...CHARGEABLE]).toEqual(statusesWhere('chargeable'));
    expect([...IN_FLIGHT]).toEqual(statusesWhere('chargeInFlight'));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties of the cycle machine over every status
// ---------------------------------------------------------------------------------------------------------------

const T0 = Date.UTC(2027, 0, 1, 9);
const ANY_STATUS = [...PURCHASE_STATUSES, 'a_status_added_later'];

/** What the gateway answers, per call, in a generated run. */
interface Script {
  chargeAnswers: Array<'paid' | 'pending' | 'declined_soft' | 'declined_hard' | 'failed' | 'not_sent'>;
  reads: string[];
  /** Merchant requests interleaved, by step. */
  requests: Array<{ at: number; event: CycleEvent }>;
}

const scriptArb: fc.Arbitrary<Script> = fc.record({
  chargeAnswers: fc.array(
    fc.constantFrom('paid', 'pending', 'declined_soft', 'declined_hard', 'failed', 'not_sent' as const),
    { minLength: 1, maxLength: 8 },
  ),
  reads: fc.array(fc.constantFrom(...ANY_STATUS), { minLength: 1, maxLength: 30 }),
  requests: fc.array(
    fc.record({
      at: fc.nat({ max: 60 }),
      event: fc.constantFrom<CycleEvent>(
        { type: 'cancel_requested', reason: 'customer' },
        { type: 'hold', paused: true },
        { type: 'hold', paused: false },
        { type: 'token_updated', token: 'tok_new' },
        { type: 'retry_now_requested' },
      ),
    }),
    { maxLength: 4 },
  ),
});

interface Step {
  event: CycleEvent;
  now: number;
  before: CycleMachineState;
  state: CycleMachineState;
  commands: CycleCommand[];
}

/** Runs a cycle against the script: every call answered, every timer fired, requests interleaved. */
function run(script: Script): Step[] {
  let s = initialCycleState({ token: 'tok_old', amountMinor: 1000 });
  let now = T0;
  let updated = 1_000;
  const steps: Step[] = [];
  const pendingCalls: CycleCommand[] = [];
  let charges = 0;
  let reads = 0;
  const feed = (event: CycleEvent): void => {
    const before = s;
    const d = decideCycle(s, event, { now, policy: DEFAULT_DUNNING_POLICY });
    s = d.state;
    steps.push({ event, now, before, state: s, commands: d.commands });
    for (const c of d.commands) {
      if (
        ['create_purchase', 'charge', 'read_purchase', 'cancel_purchase', 'mark_paid', 'record_settlement'].includes(
          c.type,
        )
      )
        pendingCalls.push(c);
    }
  };
  const facts = (status: string) => ({
    purchaseId: `pur_${s.purchaseIds.length || 1}`,
    status,
    updatedOn: ++updated,
    ...(status === 'error' ? { declineCode: 'insufficient_funds' } : {}),
  });
  feed({ type: 'started' });
  for (let step = 0; step < 200 && !s.finished; step++) {
    for (const r of script.requests) if (r.at === step) feed(r.event);
    const call = pendingCalls.shift();
    if (call) {
      now += 500;
      switch (call.type) {
        case 'create_purchase':
          feed({
            type: 'purchase_created',
            purchase: { purchaseId: `pur_${s.purchaseIds.length + 1}`, status: 'created', updatedOn: ++updated },
          });
          break;
        case 'charge': {
          const a = script.chargeAnswers[charges++ % script.chargeAnswers.length]!;
          if (a === 'paid') feed({ type: 'charged', outcome: 'paid', purchase: facts('paid') });
          else if (a === 'pending') feed({ type: 'charged', outcome: 'pending', purchase: facts('pending_charge') });
          else if (a === 'failed') feed({ type: 'charge_failed', reason: 'timeout' });
          else if (a === 'not_sent') feed({ type: 'charge_failed', reason: 'not sent', notSent: true });
          else
            feed({
              type: 'charge_declined',
              decline:
                a === 'declined_hard'
                  ? { code: 'stolen_card', message: '', declineClass: 'hard' }
                  : { code: 'insufficient_funds', message: '', declineClass: 'soft' },
            });
          break;
        }
        case 'read_purchase':
          feed({ type: 'purchase_read', purchase: facts(script.reads[reads++ % script.reads.length]!) });
          break;
        case 'cancel_purchase': {
          const st = script.reads[reads++ % script.reads.length]!;
          feed({ type: 'purchase_canceled', purchase: facts(purchaseStatusTraits(st).cancellable ? 'cancelled' : st) });
          break;
        }
        case 'mark_paid':
          feed({ type: 'marked_paid', purchase: facts('paid') });
          break;
        case 'record_settlement':
          feed({ type: 'settlement_recorded', index: call.index, externalId: 'x' });
          break;
        default:
          break;
      }
      continue;
    }
    if (s.wakeAt === undefined) {
      if (s.paused) feed({ type: 'hold', paused: false });
      else break;
      continue;
    }
    now = Math.max(now, s.wakeAt);
    feed({ type: 'timer' });
  }
  return steps;
}

const RUNS = Number(process.env.FC_RUNS ?? 300);

describe('the cycle machine over every status', () => {
  test('every wait has a timer: a cycle with nothing in flight that is not paused or done has a wakeAt', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        for (const st of run(script)) {
          const s = st.state;
          if (s.finished || s.inFlight || s.paused) continue;
          expect({ status: s.status, wakeAt: s.wakeAt === undefined ? 'none' : 'set' }).toEqual({
            status: s.status,
            wakeAt: 'set',
          });
          expect(s.wakeAt!).toBeGreaterThan(st.now);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('no back-to-back polls: a read answered while pending is never followed by another poll at once', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        for (const st of run(script)) {
          if (st.event.type !== 'purchase_read' || st.before.status !== 'pending' || st.before.closing) continue;
          // (A read that concluded the charge may be followed by the one final re-read before a terminal close.)
          expect(st.commands.filter((c) => c.type === 'read_purchase' && c.purpose !== 'final')).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('money in flight is never concluded as "no money": a cycle closes unpaid only on a read without it', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        for (const st of run(script)) {
          const closedUnpaid =
            (st.state.status === 'failed' || st.state.status === 'canceled') && st.before.status !== st.state.status;
          if (!closedUnpaid) continue;
          const e = st.event;
          const seen = e.type === 'purchase_read' || e.type === 'purchase_canceled' ? e.purchase.status : undefined;
          if (seen !== undefined) {
            const t = purchaseStatusTraits(seen);
            expect({ seen, inFlight: t.chargeInFlight, taken: t.moneyTaken }).toEqual({
              seen,
              inFlight: false,
              taken: false,
            });
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('a Purchase whose money was taken makes the cycle paid, whatever the order', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        const steps = run(script);
        const sawMoney = steps.some(
          (st) =>
            (st.event.type === 'purchase_read' || st.event.type === 'charged') &&
            purchaseStatusTraits(st.event.purchase.status).moneyTaken &&
            !['failed', 'canceled'].includes(st.before.status),
        );
        const last = steps[steps.length - 1]!.state;
        if (sawMoney) expect(isPaidCycleStatus(last.status)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
