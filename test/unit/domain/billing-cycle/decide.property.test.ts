/**
 * Property tests of the billing-cycle machine: fast-check generates gateway outcomes, webhook deliveries (fresh,
 * duplicated, stale, reordered, dropped), timers and merchant/operator requests; test/support/cycle-simulator.ts
 * drives `decideCycle` against a gateway model; each property checks money rules on every run.
 *
 * Each run draws a fresh seed; a failure prints the line that replays it (FC_SEED=<seed> FC_PATH=<path> npx jest
 * <this file> -t '<name>'). FC_SEED alone fixes the seed of every property; FC_RUNS scales the number of runs
 * (FC_RUNS=10 for a soak); FC_NO_SHRINK=1 skips shrinking for a quick look at a long failing run.
 */
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import {
  currentPurchaseId,
  decideCycle,
  retryNowRefusal,
  type CycleEvent,
  type CycleMachineState,
} from '../../../../src/domain/billing-cycle';
import { classifyDecline } from '../../../../src/domain/declines';
import { validateDunningPolicy } from '../../../../src/domain/dunning';
import { scenarioArb } from '../../../support/cycle-arbitraries';
import {
  DAY,
  HOUR,
  describeRun,
  isModelPending,
  simulateCycle,
  type CycleRun,
  type CycleScenario,
} from '../../../support/cycle-simulator';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;
const PATH = process.env.FC_PATH;
const SCALE = Number(process.env.FC_RUNS ?? 1);
/** FC_NO_SHRINK=1 reports the first failure as found (fast triage of a long counterexample). */
const NO_SHRINK = process.env.FC_NO_SHRINK === '1';

// ------------------------------------------------------------------------------------------------------------
// Running properties
// ------------------------------------------------------------------------------------------------------------

/** Fails with the run's story; the property's report adds the counterexample, seed and path. */
function violation(run: CycleRun, what: string): never {
  throw new Error(`${what}\n${describeRun(run)}`);
}

/** A test that checks `test` on `runs` generated runs. */
function property(name: string, arb: fc.Arbitrary<CycleScenario>, runs: number, test: (run: CycleRun) => void): void {
  it(name, () => check(name, arb, runs, test));
}

function check(name: string, arb: fc.Arbitrary<CycleScenario>, runs: number, test: (run: CycleRun) => void): void {
  const details = fc.check(
    fc.property(arb, (sc) => {
      test(simulateCycle(sc));
    }),
    {
      numRuns: Math.round(runs * SCALE),
      ...(SEED !== undefined ? { seed: SEED } : {}),
      ...(PATH !== undefined ? { path: PATH } : {}),
      ...(NO_SHRINK ? { endOnFailure: true } : {}),
    },
  );
  if (details.failed) {
    throw new Error(
      `${fc.defaultReportMessage(details)}\n\n${String(details.errorInstance)}\n\nrerun: FC_SEED=${details.seed} FC_PATH=${details.counterexamplePath ?? ''} ` +
        `npx jest test/unit/domain/billing-cycle/decide.property.test.ts -t '${name}'`,
    );
  }
}

const closedBadly = (s: CycleMachineState): boolean => s.status === 'failed' || s.status === 'canceled';
const lateMoneyAlerted = (run: CycleRun): boolean =>
  run.trace.some((t) =>
    t.commands.some((c) => c.type === 'alert' && (c.code === 'paid_after_close' || c.code === 'second_purchase_paid')),
  );
const knownPaid = (run: CycleRun) => run.model.paidPurchases().filter((p) => p.known);

/** Charge calls answered with a business outcome: what counts as an attempt against the card. */
function attemptsOf(run: CycleRun) {
  return run.calls.filter(
    (c) => c.command.type === 'charge' && (c.answer?.type === 'charged' || c.answer?.type === 'charge_declined'),
  );
}

// ------------------------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------------------------

describe('billing cycle machine: generated event orders', () => {
  property(
    'money is taken at most once per cycle, paid never goes back, and a cycle is never failed when money was taken',
    scenarioArb(),
    500,
    (run) => {
      const paid = run.model.paidPurchases();
      if (paid.length > 1) violation(run, `${paid.length} purchases of one cycle took money`);
      for (const t of run.trace) {
        if (['paid', 'marked_paid'].includes(t.prev.status) && t.next.status !== t.prev.status)
          violation(run, `${t.prev.status} went to ${t.next.status} on ${t.event.type}`);
        if (['failed', 'canceled'].includes(t.prev.status) && t.next.status !== t.prev.status)
          violation(run, `${t.prev.status} went to ${t.next.status} on ${t.event.type}`);
      }
      if (run.final.status === 'failed' && paid.length > 0)
        violation(run, `the cycle ended failed although ${paid.map((p) => p.id).join(', ')} took money`);
    },
  );

  property(
    'no charge while paused or after a cancel; no mark_paid while a charge is pending at the gateway',
    scenarioArb({ weights: { cancel: 2, hold: 4, markPaid: 3 } }),
    450,
    (run) => {
      for (const t of run.trace) {
        if (!t.commands.some((c) => c.type === 'charge')) continue;
        if (t.paused) violation(run, `charge issued while paused (on ${t.event.type})`);
        if (t.cancelRequested || t.event.type === 'cancel_requested')
          violation(run, `charge issued after cancel_requested (on ${t.event.type})`);
      }
      for (const c of run.calls) {
        if (c.command.type === 'mark_paid' && c.statusAtIssue !== undefined && isModelPending(c.statusAtIssue))
          violation(run, `mark_paid sent while the purchase is ${c.statusAtIssue}`);
      }
    },
  );

  property(
    'a cancel or a pause is acknowledged once no charge call is in flight, and no charge follows the acknowledgement',
    scenarioArb({ weights: { cancel: 2, hold: 4 } }),
    450,
    (run) => {
      let acked = false;
      for (const t of run.trace) {
        if (t.event.type === 'hold' && !t.event.paused) acked = false;
        if (t.commands.some((c) => c.type === 'charge') && acked)
          violation(run, `charge issued after the stop was acknowledged (on ${t.event.type})`);
        if (t.commands.some((c) => c.type === 'ack_stop')) {
          if (t.next.inFlight === 'charge')
            violation(run, `ack_stop sent with a charge in flight (on ${t.event.type})`);
          // An acknowledgement sent after a resume answers the pause that came before it: it promises nothing now.
          acked = t.next.paused || t.next.cancel !== undefined;
        }
      }
      if (run.final.stopAckDue && run.final.inFlight !== 'charge')
        violation(run, 'a cancel or pause was never acknowledged although no charge was in flight');
    },
  );

  property(
    'a failed or canceled end follows a re-read of the current purchase, and a paid purchase never ends so silently',
    scenarioArb({ weights: { cancel: 2 } }),
    450,
    (run) => {
      for (const t of run.trace) {
        if (!closedBadly(t.next) || closedBadly(t.prev)) continue;
        const pid = currentPurchaseId(t.next);
        if (pid !== undefined) {
          const e = t.event;
          const reread =
            (e.type === 'purchase_read' || e.type === 'purchase_canceled') && e.purchase.purchaseId === pid;
          if (!reread) violation(run, `${t.next.status} on ${e.type}, not on a read or cancel of ${pid}`);
        }
      }
      if (closedBadly(run.final) && knownPaid(run).length > 0 && !lateMoneyAlerted(run))
        violation(run, `ended ${run.final.status} with a paid purchase and no paid_after_close alert`);
    },
  );

  property(
    'charges keep minHoursBetweenAttempts and the per-token 30-day cap',
    scenarioArb({ weights: { retryNow: 4, token: 3 } }),
    450,
    (run) => {
      const { policy } = run.scenario;
      const attempts = attemptsOf(run);
      const priors = run.scenario.priorAttemptsHoursAgo.map((h) => run.trace[0]!.at - h * HOUR);
      for (const c of run.calls) {
        if (c.command.type !== 'charge') continue;
        const before = attempts.filter((a) => a !== c && run.calls.indexOf(a) < run.calls.indexOf(c));
        const last = before[before.length - 1];
        if (last && c.at - last.at < policy.minHoursBetweenAttempts * HOUR)
          violation(run, `charge ${((c.at - last.at) / HOUR).toFixed(2)}h after the previous attempt`);
        const token = c.command.token;
        const inWindow = [
          ...before.filter((a) => a.command.type === 'charge' && a.command.token === token).map((a) => a.at),
          ...(token === 'tok_0' ? priors : []),
        ].filter((at) => at > c.at - 30 * DAY);
        if (inWindow.length >= policy.maxAttemptsPerToken30Days)
          violation(run, `charge with ${token} after ${inWindow.length} attempts in 30 days`);
      }
    },
  );

  property(
    'purchase creation failures never fail the cycle against the customer',
    scenarioArb({ createFailWeight: 8 }),
    300,
    (run) => {
      if (run.final.status !== 'failed' || run.final.failureKind !== 'customer') return;
      const customerDecline = run.trace.some((t) => isCustomerDecline(t.event));
      if (!customerDecline)
        violation(run, `failed against the customer (${run.final.failureReason}) without a decline`);
    },
  );

  property('every sequence ends finished once the gateway is healthy and timers fire', scenarioArb(), 450, (run) => {
    if (!run.finished) violation(run, run.stuck ?? 'not finished');
  });

  property(
    'a new payment method after a hard decline is charged, and every markPaid request is answered',
    scenarioArb({ weights: { token: 6, markPaid: 3 } }),
    400,
    (run) => {
      const charged = new Set(run.calls.flatMap((c) => (c.command.type === 'charge' ? [c.command.token] : [])));
      const tokens = run.trace.filter((t) => t.event.type === 'token_updated' && t.next.token !== t.prev.token);
      const lastToken = tokens[tokens.length - 1];
      if (
        lastToken &&
        lastToken.prev.status === 'action_required' &&
        !lastToken.prev.closing && // too late: the grace period had ended
        !charged.has(lastToken.next.token) &&
        !['paid', 'marked_paid'].includes(run.final.status) &&
        !run.trace.some((t) => t.event.type === 'cancel_requested')
      )
        violation(run, `new token ${lastToken.next.token} after a hard decline was never charged`);
      const requests = run.trace.flatMap((t) => (t.event.type === 'mark_paid_requested' ? [t.event.requestId] : []));
      for (const id of requests) {
        const answers = run.final.markPaidAnswers.filter((a) => a.requestId === id);
        if (answers.length !== 1) violation(run, `markPaid ${id} got ${answers.length} answers`);
      }
    },
  );

  property(
    'under the Purchase rules, a cycle that ends unpaid leaves none of its Purchases payable, unless a cancel was refused',
    scenarioArb({ weights: { cancel: 2, markPaid: 2 } }).map((sc) => ({ ...sc, purchaseLife: true })),
    400,
    (run) => {
      if (!run.finished || !closedBadly(run.final)) return;
      const refused = new Set(
        run.calls.flatMap((c) =>
          c.command.type === 'cancel_purchase' && c.answer?.type === 'purchase_cancel_failed'
            ? [c.command.purchaseId]
            : [],
        ),
      );
      for (const id of run.final.purchaseIds) {
        const status = run.model.purchase(id).status;
        if (['created', 'sent', 'viewed', 'overdue', 'error'].includes(status) && !refused.has(id))
          violation(run, `the cycle ended ${run.final.status} and left purchase ${id} payable (${status})`);
      }
    },
  );

  property(
    'under the Purchase rules, mark_paid is never sent for a Purchase that can take no money (blocked, closed)',
    scenarioArb({ weights: { markPaid: 6 } }).map((sc) => ({ ...sc, purchaseLife: true })),
    400,
    (run) => {
      for (const c of run.calls) {
        if (c.command.type !== 'mark_paid' || c.statusAtIssue === undefined) continue;
        if (['blocked', 'cancelled', 'expired', 'released'].includes(c.statusAtIssue))
          violation(run, `mark_paid sent for a purchase that is ${c.statusAtIssue}`);
      }
    },
  );

  property('a refused retryNow changes nothing', scenarioArb({ weights: { retryNow: 8 } }), 250, (run) => {
    for (const t of run.trace) {
      if (t.event.type !== 'retry_now_requested') continue;
      const ctx = { now: t.at, policy: run.scenario.policy, purchaseLife: run.scenario.purchaseLife };
      if (retryNowRefusal(t.prev, ctx) === undefined) continue;
      const asTimer = decideCycle(t.prev, { type: 'timer' }, ctx);
      if (!sameData(asTimer, { state: t.next, commands: t.commands }))
        violation(run, `a refused retryNow (${retryNowRefusal(t.prev, ctx)}) changed the decision`);
    }
  });

  property(
    'decisions are pure: JSON-serializable state, frozen input untouched, same input same output',
    scenarioArb(),
    250,
    (run) => {
      for (const t of run.trace) {
        const json = JSON.parse(JSON.stringify(t.next)) as unknown;
        if (!isDeepStrictEqual(json, dropUndefined(t.next))) violation(run, `state after ${t.event.type} is not JSON`);
        const again = decideCycle(t.prev, t.event, {
          now: t.at,
          policy: run.scenario.policy,
          purchaseLife: run.scenario.purchaseLife,
        });
        if (!sameData(again, { state: t.next, commands: t.commands }))
          violation(run, `decideCycle gave a different answer for the same input (${t.event.type})`);
      }
    },
  );

  test('the generated policies are valid and runs exercise every path', () => {
    // A property that cannot fail is a defect: make sure the generators reach the interesting states.
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenarioArb(), (sc) => {
        expect(validateDunningPolicy(sc.policy)).toEqual([]);
        const run = simulateCycle(sc);
        seen.add(run.final.status);
        for (const t of run.trace) seen.add(t.next.status);
      }),
      { numRuns: 250, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    for (const s of ['paid', 'marked_paid', 'failed', 'canceled', 'pending', 'retry_scheduled', 'action_required'])
      expect(seen).toContain(s);
  });
});

function isCustomerDecline(e: CycleEvent): boolean {
  if (e.type === 'charge_declined') return !['merchant_configuration', 'already_paid'].includes(e.decline.declineClass);
  if ('purchase' in e) {
    const { status, declineCode } = e.purchase;
    if (status === 'blocked') return true;
    if (status === 'error') return classifyDecline(declineCode) !== 'merchant_configuration';
  }
  return false;
}

/** Equal as data (the machine's output is JSON; prototypes and undefined-valued keys do not matter). */
const sameData = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function dropUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropUndefined);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, dropUndefined(x)]),
    );
  }
  return v;
}
