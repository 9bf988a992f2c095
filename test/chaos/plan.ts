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
  | 'chargeback';

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
  }
  return out;
}
