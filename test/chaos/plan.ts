/**
 * The plan of a chaos run, drawn from its seed: for every subscription a gateway scenario (chosen by the token, like
 * test cards), a schedule, settlement targets, a webhook fault profile and merchant operations at simulated times.
 */
import type { BillingSchedule } from '../../src/domain/calendar';
import { Random } from './random';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const SCENARIOS = [
  'success',
  'pending_paid',
  'pending_fail',
  'pending_silent',
  'soft',
  'hard',
  'blocked',
  'http_5xx',
  'rate_limited',
  'slow',
  'commit_timeout',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const SCENARIO_WEIGHTS: [ScenarioName, number][] = [
  ['success', 6],
  ['pending_paid', 2],
  ['pending_fail', 1],
  ['pending_silent', 1],
  ['soft', 2],
  ['hard', 1],
  ['blocked', 1],
  ['http_5xx', 2],
  ['rate_limited', 1],
  ['slow', 1],
  ['commit_timeout', 1],
];

/** A token the QorePay sandbox maps to `scenario` (see src/sandbox/qorepay/scenarios.ts); unique per `suffix`. */
export function tokenFor(scenario: ScenarioName, suffix: string, rnd: Random): string {
  switch (scenario) {
    case 'success':
      return `tok_success_${suffix}`;
    case 'pending_paid':
      return `tok_pending_paid_${suffix}`;
    case 'pending_fail':
      return `tok_pending_fail_${suffix}`;
    case 'pending_silent':
      return `tok_pending_silent_${suffix}`;
    case 'soft':
      return `tok_soft${rnd.int(1, 3)}_${suffix}`;
    case 'hard':
      return `tok_hard_${rnd.pick(['stolen_card', 'lost_card', 'blacklisted_tx'])}_${suffix}`;
    case 'blocked':
      return `tok_blocked_${suffix}`;
    case 'http_5xx':
      return `tok_${rnd.pick(['500', '502', '503'])}x${rnd.int(1, 4)}_${suffix}`;
    case 'rate_limited':
      return `tok_429_${suffix}`;
    case 'slow':
      return `tok_slow_${suffix}`;
    case 'commit_timeout':
      return `tok_commit_timeout_${suffix}`;
  }
}

export type WebhookFault = 'none' | 'duplicate' | 'drop' | 'delay' | 'reorder';

/**
 * The conditions of issue 20's defects, each given to a share of the subscriptions (on top of the random plan):
 * - throttled_stop: a cancel or pause sent just after a period falls due, while its charge waits in the activity task
 *   queue (process mode throttles the queue below the storm's rate, so charges wait longer than any stop wait);
 * - gateway_refund: a refund made at the gateway outside the engine, then merchant refunds through the engine;
 * - refund_before_report: a gateway refund right after the first period is paid, while the cycle's final report is
 *   held in its outbox (fast mode: the merchant endpoint fails for that cycle);
 * - new_card_pending_hard: the first charge stays pending (tok_pending_hard_, resolved by the driver), a new card is
 *   given meanwhile, then the pending charge declines stolen_card;
 * - unnamed_status: charges answered in a status the machine does not name (tok_unnamed_<status>_);
 * - target_outage: the settlement target (Gormic) fails for a while around a due date, with a refund and a chargeback
 *   inside the outage; it recovers (fast mode: the driver retries failed settlements as an operator would; process
 *   mode: the reconciliation sweep).
 */
export const CHAOS_CONDITIONS = [
  'throttled_stop',
  'gateway_refund',
  'refund_before_report',
  'new_card_pending_hard',
  'unnamed_status',
  'target_outage',
] as const;
export type ChaosCondition = (typeof CHAOS_CONDITIONS)[number];

/** Statuses of tok_unnamed_ (the QorePay sandbox's UNNAMED_STATUSES). */
export const UNNAMED_STATUSES = [
  'hold',
  'pending_capture',
  'pending_release',
  'preauthorized',
  'created',
  'overdue',
  'sent',
  'viewed',
] as const;

export type OpKind =
  | 'cancel_now'
  | 'cancel_period_end'
  | 'pause'
  | 'resume'
  | 'new_card'
  | 'change_plan'
  | 'retry_now'
  | 'mark_paid'
  | 'refund_full'
  | 'refund_partial'
  | 'chargeback'
  /** A refund made at the gateway outside the engine (the sandbox's dashboard-refund route). */
  | 'gateway_refund'
  /** The driver resolves the period's manual pending charge (it declines stolen_card). */
  | 'resolve_pending'
  /** The settlement target fails every request from now on / recovers. */
  | 'target_down'
  | 'target_up';

export interface PlannedOp {
  /** Offset from the batch's start, in simulated milliseconds. */
  at: number;
  kind: OpKind;
  /** new_card: the new token (and the scenario it selects). */
  token?: string;
  scenario?: ScenarioName;
  /** change_plan: the new unit price; refund_partial: the share of the refundable amount, 0..1. */
  priceMinor?: number;
  share?: number;
  /** Refunds: the idempotency key (Temporal update id), and whether the request is sent twice with it. */
  key?: string;
  repeatKey?: boolean;
  /** Condition ops are timed from a period's due date (`at` is set by timeConditionOps once the anchor is known). */
  period?: number;
  afterDueMs?: number;
}

export interface PlannedSubscription {
  subscriptionId: string;
  scenario: ScenarioName;
  token: string;
  /** Offset of the anchor from the batch's start (simulated). */
  anchorOffset: number;
  schedule: Omit<BillingSchedule, 'anchor'>;
  maxPeriods: number;
  priceMinor: number;
  activePlatform: boolean;
  fault: WebhookFault;
  /** `delay`: hours each delivery is held (simulated). */
  delayHours: number;
  ops: PlannedOp[];
  /** One of issue 20's conditions, or none. */
  condition?: ChaosCondition;
}

export interface ChaosPlanOptions {
  seed: number;
  count: number;
  /** Simulated days over which the schedules run and operations happen. */
  days: number;
  /** Prefix of subscription ids (unique per run, so runs on a shared server do not collide). */
  runId: string;
  /** Minute schedules (process mode, engine against the sandbox only) instead of days and months. */
  minuteSchedules?: boolean;
  /** Share of the subscriptions given one of CHAOS_CONDITIONS (default 0.35; 0 draws the plan of earlier runs). */
  conditionShare?: number;
}

const OP_WEIGHTS: [OpKind, number][] = [
  ['cancel_now', 2],
  ['cancel_period_end', 2],
  ['pause', 2],
  ['resume', 2],
  ['new_card', 3],
  ['change_plan', 2],
  ['retry_now', 2],
  ['mark_paid', 1],
  ['refund_full', 2],
  ['refund_partial', 3],
  ['chargeback', 1],
];

export function planSubscriptions(o: ChaosPlanOptions): PlannedSubscription[] {
  const root = new Random(o.seed);
  const out: PlannedSubscription[] = [];
  const horizon = o.days * DAY;
  for (let i = 0; i < o.count; i++) {
    const rnd = root.fork(`sub-${i}`);
    const subscriptionId = `${o.runId}-${i}`;
    const scenario = rnd.weighted(SCENARIO_WEIGHTS);
    let schedule: Omit<BillingSchedule, 'anchor'>;
    if (o.minuteSchedules) {
      schedule = {
        intervalUnit: 'minute',
        intervalCount: rnd.int(1, 2),
        timeZone: 'UTC',
      };
    } else if (rnd.chance(0.6)) {
      schedule = {
        intervalUnit: 'month',
        intervalCount: 1,
        timeZone: rnd.pick(['UTC', 'Europe/Oslo', 'Africa/Lagos']),
      };
    } else {
      schedule = { intervalUnit: 'day', intervalCount: rnd.pick([1, 2, 3, 7, 14]), timeZone: 'UTC' };
    }
    // A few shared anchors, so many cycles fall due at the same simulated instant and run side by side.
    const anchorOffset = o.minuteSchedules ? rnd.int(5, 60) * 1000 : rnd.int(1, 4) * DAY;
    // Every period starts within the horizon, so the run's tail only lets dunning finish.
    const fits = o.minuteSchedules
      ? Infinity
      : Math.floor(
          (horizon - anchorOffset) / ((schedule.intervalUnit === 'month' ? 31 : schedule.intervalCount) * DAY),
        );
    const maxPeriods = o.minuteSchedules ? rnd.int(3, 8) : Math.max(1, Math.min(rnd.int(6, 24), fits));
    const opCount = rnd.int(0, 4);
    const ops: PlannedOp[] = [];
    for (let k = 0; k < opCount; k++) {
      const kind = rnd.weighted(OP_WEIGHTS);
      const op: PlannedOp = { at: Math.floor(rnd.next() * horizon), kind };
      if (kind === 'new_card') {
        op.scenario = rnd.weighted(SCENARIO_WEIGHTS);
        op.token = tokenFor(op.scenario, `${subscriptionId}_c${k}`, rnd);
      } else if (kind === 'change_plan') {
        op.priceMinor = rnd.int(100, 9_999) * 100;
      } else if (kind === 'refund_full' || kind === 'refund_partial') {
        op.key = `refund-${subscriptionId}-${k}`;
        op.repeatKey = rnd.chance(0.5);
        if (kind === 'refund_partial') op.share = 0.1 + rnd.next() * 0.5;
      }
      ops.push(op);
    }
    ops.sort((a, b) => a.at - b.at);
    const fault = rnd.weighted<WebhookFault>([
      ['none', 4],
      ['duplicate', 1.5],
      ['drop', 1.5],
      ['delay', 1.5],
      ['reorder', 1.5],
    ]);
    out.push({
      subscriptionId,
      scenario,
      token: tokenFor(scenario, `${subscriptionId}_c`, rnd),
      anchorOffset,
      schedule,
      maxPeriods,
      priceMinor: rnd.int(100, 9_999) * 100,
      activePlatform: rnd.chance(0.3),
      fault,
      delayHours: o.minuteSchedules ? 0 : rnd.int(1, 12),
      ops,
    });
    const cond = root.fork(`condition-${i}`);
    if (cond.chance(o.conditionShare ?? 0.35))
      applyCondition(out[out.length - 1]!, cond.pick(CHAOS_CONDITIONS), cond, o);
  }
  return out;
}

/**
 * Shapes a planned subscription for a condition: day (or minute) schedules, so a period's due date is known, the
 * scenario the condition needs and its operations timed from due dates. Drawn from a stream of its own, so the rest
 * of the plan is the same as without conditions.
 */
function applyCondition(p: PlannedSubscription, condition: ChaosCondition, rnd: Random, o: ChaosPlanOptions): void {
  const minute = o.minuteSchedules === true;
  // Fast mode counts in simulated hours, process mode in real seconds (minute periods).
  const unit = minute ? 1000 : HOUR;
  const intervalMs = minute ? 60_000 : DAY;
  p.condition = condition;
  p.schedule = {
    intervalUnit: minute ? 'minute' : 'day',
    intervalCount: minute ? 1 : rnd.pick([1, 2, 3, 7]),
    timeZone: 'UTC',
  };
  const interval = p.schedule.intervalCount * intervalMs;
  const fits = minute ? 8 : Math.max(1, Math.floor((o.days * DAY - p.anchorOffset) / interval));
  p.maxPeriods = Math.max(1, Math.min(minute ? rnd.int(3, 6) : rnd.int(3, 10), fits));
  const sfx = `${p.subscriptionId}_k`;
  const op = (period: number, afterDue: number, kind: OpKind, extra: Partial<PlannedOp> = {}): PlannedOp => ({
    at: 0,
    kind,
    period,
    afterDueMs: Math.round(afterDue * unit),
    ...extra,
  });
  const last = p.maxPeriods - 1;
  switch (condition) {
    case 'throttled_stop': {
      p.scenario = rnd.pick(['success', 'slow'] as const);
      p.token = tokenFor(p.scenario, sfx, rnd);
      const k = rnd.int(0, Math.min(2, last));
      // Just after the due date: the cycle's charge is scheduled (and, throttled, waits in the queue).
      const after = minute ? rnd.int(1, 8) : rnd.next() * 0.05;
      if (rnd.chance(0.5)) p.ops = [op(k, after, 'cancel_now')];
      else p.ops = [op(k, after, 'pause'), op(Math.min(k + 2, last + 1), minute ? 30 : 12, 'resume')];
      break;
    }
    case 'gateway_refund': {
      p.scenario = 'success';
      p.token = tokenFor('success', sfx, rnd);
      const k = rnd.int(0, Math.min(1, last));
      p.ops = [
        op(k, minute ? 20 : 6, 'gateway_refund', { share: 0.1 + rnd.next() * 0.5 }),
        op(k, minute ? 30 : 12, 'refund_partial', {
          share: 0.1 + rnd.next() * 0.5,
          key: `refund-${p.subscriptionId}-g1`,
          repeatKey: rnd.chance(0.5),
        }),
        op(k, minute ? 40 : 18, 'refund_full', { key: `refund-${p.subscriptionId}-g2`, repeatKey: rnd.chance(0.5) }),
      ];
      break;
    }
    case 'refund_before_report':
      p.scenario = 'success';
      p.token = tokenFor('success', sfx, rnd);
      // Minutes after the charge: the cycle's report waits behind its paid notification.
      p.ops = [
        op(0, minute ? 3 : 0.2, 'gateway_refund', { share: rnd.chance(0.5) ? 1 : 0.2 + rnd.next() * 0.5 }),
        op(0, minute ? 40 : 24, 'refund_full', { key: `refund-${p.subscriptionId}-r1` }),
      ];
      break;
    case 'new_card_pending_hard':
      p.scenario = 'pending_fail';
      p.token = `tok_pending_hard_${sfx}`;
      p.maxPeriods = Math.max(2, p.maxPeriods);
      p.ops = [
        op(0, minute ? 10 : 0.5, 'new_card', { scenario: 'success', token: `tok_success_${sfx}n` }),
        op(0, minute ? 15 : 1, 'resolve_pending'),
      ];
      break;
    case 'unnamed_status': {
      const status = rnd.pick(UNNAMED_STATUSES);
      p.scenario = 'pending_silent';
      p.token = `tok_unnamed_${status}_${sfx}`;
      p.ops = rnd.chance(0.3) ? [op(rnd.int(0, last), minute ? 20 : 3, 'cancel_now')] : [];
      break;
    }
    case 'target_outage': {
      p.scenario = 'success';
      p.token = tokenFor('success', sfx, rnd);
      p.maxPeriods = Math.max(2, p.maxPeriods);
      const k = rnd.int(1, Math.max(1, Math.min(3, last)));
      p.ops = [
        op(k, minute ? -5 : -1, 'target_down'),
        op(k, minute ? 10 : 2, 'refund_partial', {
          share: 0.2 + rnd.next() * 0.4,
          key: `refund-${p.subscriptionId}-o1`,
        }),
        op(k, minute ? 15 : 3, 'chargeback'),
        op(k, minute ? 60 : 36, 'target_up'),
      ];
      break;
    }
  }
}

/**
 * Sets `at` (offset from the run's start) of the condition ops once the subscription's anchor is known: due date of
 * the op's period plus its offset. Keeps the ops sorted.
 */
export function timeConditionOps(p: PlannedSubscription, anchorMs: number, t0: number): void {
  const unitMs = p.schedule.intervalUnit === 'minute' ? 60_000 : p.schedule.intervalUnit === 'day' ? DAY : 0;
  for (const op of p.ops) {
    if (op.period === undefined || unitMs === 0) continue;
    op.at = Math.max(0, anchorMs + op.period * p.schedule.intervalCount * unitMs + (op.afterDueMs ?? 0) - t0);
  }
  p.ops.sort((a, b) => a.at - b.at);
}
