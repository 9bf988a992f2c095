/**
 * A simulator for one billing cycle: the pure machine (`decideCycle`) driven against a model of the QorePay gateway,
 * with no Temporal and no I/O. Property tests generate a `CycleScenario` (gateway outcomes, webhook deliveries,
 * timers, merchant and operator requests) and check invariants on the `CycleRun` it produces.
 *
 * The model answers each gateway command the way the workflow's activities and the gateway do together
 * (src/activities/gateway.ts over reference/qorepay.md, as the sandbox implements it):
 * - `charge` reads the Purchase first. Paid: answered `charged`/paid without a new charge. `pending_*`: answered
 *   `charged`/pending, never a second charge. Closed, refunded or charged back: `charge_refused`. Blocked: the gateway
 *   refuses (`invalid_purchase_status`), answered `charge_refused` with the blocked Purchase. Otherwise the charge
 *   is sent and the next scripted outcome decides: paid, pending (resolved later), a decline (status `error`) or a
 *   fraud block (status `blocked`), both answered `charge_declined`; a transport failure that may have landed at the
 *   gateway first (commit-then-timeout) or a 5xx that did not, both answered `charge_failed`.
 * - `cancel_purchase` reads first: paid or closed Purchases are answered as they are; `created`/`error` ones are
 *   cancelled; pending and blocked ones are refused (`purchase_cancel_failed`), as the gateway does.
 * - `mark_paid` is refused for paid (already paid), closed and blocked Purchases; the gateway accepts it on a pending
 *   one, which is exactly why the machine must never send it then.
 * - Every status change is queued as a webhook; scenario steps deliver them in order, drop, reorder, duplicate or
 *   redeliver stale ones.
 *
 * The driver enforces the protocol itself (it throws `CycleProtocolError`): at most one call command per decision,
 * never a call while one is in flight, `state.inFlight` naming the call, and `decideCycle` neither throwing nor
 * touching its (deep-frozen) input. After the scenario's steps it drives the cycle to quiescence with a healthy
 * gateway (resume, answer calls, settle pending charges, fire timers) and records whether it finished.
 */
import {
  decideCycle,
  retryNowRefusal,
  initialCycleState,
  type CycleCommand,
  type CycleEvent,
  type CycleMachineState,
  type GatewayCall,
  type PurchaseFacts,
  type SettlementTargetRef,
} from '../../src/domain/billing-cycle';
import { classifyDecline } from '../../src/domain/declines';
import type { DunningPolicy } from '../../src/domain/dunning';

export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;
export const SIM_START = Date.UTC(2026, 0, 15, 9, 0, 0);

// ------------------------------------------------------------------------------------------------------------
// Scenario: plain data, so fast-check can generate and shrink it
// ------------------------------------------------------------------------------------------------------------

/** What one `POST /purchases/{id}/charge/` does, when the charge is actually sent. */
export type ChargeOutcome =
  | { kind: 'paid' }
  | { kind: 'pending'; then: 'paid' | { code: string } }
  | { kind: 'decline'; code: string }
  | { kind: 'blocked'; code: string }
  /** The answer is lost; the charge reached the gateway with this result first (`none`: it never arrived). */
  | { kind: 'transport'; landed: 'none' | 'paid' | 'pending' | 'declined' | 'blocked' }
  /** 5xx: nothing charged. */
  | { kind: 'http_5xx' };

/** `ok`; `fail`: nothing happened; `lost`: it happened at the gateway but the answer was lost. */
export type CallFate = 'ok' | 'fail' | 'lost';

export interface GatewayScript {
  /** Outcomes of the charges actually sent, in order; `thereafter` once they run out. */
  charges: ChargeOutcome[];
  thereafter: ChargeOutcome;
  /** Fates of successive calls of each kind (missing = ok). `lost` only matters for create and mark_paid. */
  creates: CallFate[];
  reads: CallFate[];
  cancels: CallFate[];
  markPaids: CallFate[];
  /** true = the settlement write succeeds (missing = true). */
  settlements: boolean[];
}

export type WebhookMode = 'next' | 'drop' | 'reorder' | 'duplicate' | 'stale';
export type GatewayChange = 'resolve_pending' | 'expire' | 'cancel_elsewhere' | 'refund' | 'chargeback' | 'settle';

export type SimStep =
  /** The call in flight answers; with none in flight, the next timer fires. */
  | { kind: 'answer' }
  | { kind: 'webhook'; mode: WebhookMode; pick: number }
  | { kind: 'gateway'; change: GatewayChange }
  /** Time passes (no call is ever in flight across it); a timer fires if `wakeAt` comes first. */
  | { kind: 'advance'; minutes: number }
  | { kind: 'cancel' }
  | { kind: 'hold'; paused: boolean }
  /** `force`: sent even when `retryNowRefusal` refuses it (the update validator would). */
  | { kind: 'retry_now'; force: boolean }
  | { kind: 'token'; same: boolean }
  | { kind: 'mark_paid'; paidOnOffsetHours?: number }
  | { kind: 'settlement_retry' };

export interface CycleScenario {
  policy: DunningPolicy;
  paused: boolean;
  /** Attempts with the starting token in other cycles, hours before the start. */
  priorAttemptsHoursAgo: number[];
  settlementTargets: number;
  gateway: GatewayScript;
  steps: SimStep[];
  /** The machine runs under the Purchase rules of newer runs (`CycleContext.purchaseLife`). */
  purchaseLife?: boolean;
}

// ------------------------------------------------------------------------------------------------------------
// The gateway model
// ------------------------------------------------------------------------------------------------------------

export const MODEL_PAID_STATUSES = [
  'paid',
  'cleared',
  'settled',
  'pending_refund',
  'refunded',
  'charged_back',
  'chargeback',
];
const OPEN_STATUSES = ['created', 'error'];
const CLOSED_STATUSES = ['cancelled', 'expired', 'released'];
export const isModelPaid = (status: string): boolean => MODEL_PAID_STATUSES.includes(status);
export const isModelPending = (status: string): boolean => status.startsWith('pending_') && !isModelPaid(status);

export interface ModelPurchase {
  id: string;
  /** False for a Purchase whose creation answer was lost: the cycle never learns its id. */
  known: boolean;
  status: string;
  updatedOn: number;
  declineCode?: string;
  /** Money was taken by a charge. */
  charged: boolean;
  markedPaid: boolean;
  pendingThen?: 'paid' | { code: string };
  history: string[];
}

/** A charge request that reached the acquirer (the network's view: what counts against the card). */
export interface LedgerEntry {
  at: number;
  purchaseId: string;
  token: string;
  result: 'paid' | 'pending' | 'declined';
}

export class CycleGatewayModel {
  readonly purchases = new Map<string, ModelPurchase>();
  readonly outbox: { facts: PurchaseFacts; delivered: boolean }[] = [];
  readonly ledger: LedgerEntry[] = [];
  /** Set in the quiescence phase: no transport failures any more (business answers stay as scripted). */
  healthy = false;
  private seq = 0;
  private used = { charges: 0, creates: 0, reads: 0, cancels: 0, markPaids: 0, settlements: 0 };

  constructor(
    private readonly script: GatewayScript,
    private readonly clock: () => number,
  ) {}

  /** Purchases that took money (charged or marked as paid). */
  paidPurchases(): ModelPurchase[] {
    return [...this.purchases.values()].filter((p) => isModelPaid(p.status) || p.charged || p.markedPaid);
  }
  chargedPurchases(): ModelPurchase[] {
    return [...this.purchases.values()].filter((p) => p.charged);
  }
  pendingPurchases(): ModelPurchase[] {
    return [...this.purchases.values()].filter((p) => isModelPending(p.status));
  }
  purchase(id: string): ModelPurchase {
    const p = this.purchases.get(id);
    if (!p) throw new CycleProtocolError(`the machine addressed purchase ${id}, which the gateway never created`);
    return p;
  }

  /** Runs one gateway command (as activity + gateway) and returns the event the workflow feeds back. */
  execute(cmd: Extract<CycleCommand, { type: GatewayCall }>): CycleEvent {
    switch (cmd.type) {
      case 'create_purchase':
        return this.create();
      case 'charge':
        return this.charge(cmd.purchaseId, cmd.token);
      case 'read_purchase': {
        const p = this.purchase(cmd.purchaseId);
        if (this.fate('reads') === 'fail') return { type: 'purchase_read_failed', reason: 'read timed out' };
        return { type: 'purchase_read', purchase: facts(p) };
      }
      case 'cancel_purchase':
        return this.cancel(cmd.purchaseId);
      case 'mark_paid':
        return this.markPaid(cmd.purchaseId);
    }
  }

  settle(): boolean {
    const i = this.used.settlements++;
    return this.healthy || (this.script.settlements[i] ?? true);
  }

  /** The acquirer finishes pending charges. */
  resolvePending(): boolean {
    let any = false;
    for (const p of this.purchases.values()) {
      if (!isModelPending(p.status) || !p.pendingThen) continue;
      any = true;
      const then = p.pendingThen;
      delete p.pendingThen;
      if (then === 'paid') {
        p.charged = true;
        this.setStatus(p, 'paid');
      } else {
        p.declineCode = then.code;
        this.setStatus(p, 'error');
      }
    }
    return any;
  }

  /** Something outside the engine changes the cycle's newest Purchase (dashboard, acquirer, expiry). */
  externalChange(change: Exclude<GatewayChange, 'resolve_pending'>): void {
    const p = [...this.purchases.values()].filter((x) => x.known).pop();
    if (!p) return;
    if ((change === 'expire' || change === 'cancel_elsewhere') && OPEN_STATUSES.includes(p.status)) {
      this.setStatus(p, change === 'expire' ? 'expired' : 'cancelled');
    } else if (change === 'settle' && p.status === 'paid') {
      this.setStatus(p, 'settled');
    } else if ((change === 'refund' || change === 'chargeback') && ['paid', 'cleared', 'settled'].includes(p.status)) {
      this.setStatus(p, change === 'refund' ? 'refunded' : 'charged_back');
    }
  }

  private create(): CycleEvent {
    const fate = this.fate('creates');
    if (fate === 'fail') return { type: 'purchase_create_failed', reason: 'HTTP 503 from POST /purchases/' };
    const p: ModelPurchase = {
      id: `pur_${++this.seq}`,
      known: fate === 'ok',
      status: 'created',
      updatedOn: this.nowSec(),
      charged: false,
      markedPaid: false,
      history: ['created'],
    };
    this.purchases.set(p.id, p);
    this.emit(p);
    if (fate === 'lost') return { type: 'purchase_create_failed', reason: 'timeout after POST /purchases/' };
    return { type: 'purchase_created', purchase: facts(p) };
  }

  private charge(purchaseId: string, token: string): CycleEvent {
    const p = this.purchase(purchaseId);
    let outcome = this.peekCharge();
    // A transport failure may hit the read before the charge as well: nothing happens either way.
    if (outcome.kind === 'http_5xx' || (outcome.kind === 'transport' && outcome.landed === 'none')) {
      this.used.charges++;
      return { type: 'charge_failed', reason: outcome.kind === 'http_5xx' ? 'HTTP 502' : 'connection reset' };
    }
    // The read before the charge: only a chargeable Purchase is charged.
    if (['paid', 'cleared', 'settled'].includes(p.status))
      return { type: 'charged', outcome: 'paid', purchase: facts(p) };
    if (isModelPending(p.status)) return { type: 'charged', outcome: 'pending', purchase: facts(p) };
    if (!OPEN_STATUSES.includes(p.status)) return { type: 'charge_refused', purchase: facts(p) };

    this.used.charges++;
    let lost = false;
    if (outcome.kind === 'transport') {
      lost = true;
      const landed = outcome.landed;
      outcome =
        landed === 'paid'
          ? { kind: 'paid' }
          : landed === 'pending'
            ? { kind: 'pending', then: 'paid' }
            : landed === 'blocked'
              ? { kind: 'blocked', code: 'suspected_fraud' }
              : { kind: 'decline', code: 'insufficient_funds' };
    }
    let answer: CycleEvent;
    switch (outcome.kind) {
      case 'paid':
        p.charged = true;
        this.setStatus(p, 'paid');
        this.ledger.push({ at: this.clock(), purchaseId, token, result: 'paid' });
        answer = { type: 'charged', outcome: 'paid', purchase: facts(p) };
        break;
      case 'pending':
        p.pendingThen = outcome.then;
        this.setStatus(p, 'pending_charge');
        this.ledger.push({ at: this.clock(), purchaseId, token, result: 'pending' });
        answer = { type: 'charged', outcome: 'pending', purchase: facts(p) };
        break;
      case 'decline':
      case 'blocked': {
        p.declineCode = outcome.code;
        this.setStatus(p, outcome.kind === 'blocked' ? 'blocked' : 'error');
        this.ledger.push({ at: this.clock(), purchaseId, token, result: 'declined' });
        const declineClass = outcome.kind === 'blocked' ? 'hard' : classifyDecline(outcome.code);
        answer = { type: 'charge_declined', decline: { code: outcome.code, message: '', declineClass } };
        break;
      }
      default:
        throw new Error(`unreachable charge outcome ${JSON.stringify(outcome)}`);
    }
    return lost ? { type: 'charge_failed', reason: 'timeout (the charge may have landed)' } : answer;
  }

  private cancel(purchaseId: string): CycleEvent {
    const p = this.purchase(purchaseId);
    if (this.fate('cancels') === 'fail') return { type: 'purchase_cancel_failed', reason: 'HTTP 503' };
    if (isModelPaid(p.status) || CLOSED_STATUSES.includes(p.status))
      return { type: 'purchase_canceled', purchase: facts(p) };
    if (!OPEN_STATUSES.includes(p.status)) {
      return { type: 'purchase_cancel_failed', reason: `purchase_cancel_error: status ${p.status}` };
    }
    this.setStatus(p, 'cancelled');
    return { type: 'purchase_canceled', purchase: facts(p) };
  }

  private markPaid(purchaseId: string): CycleEvent {
    const p = this.purchase(purchaseId);
    const fate = this.fate('markPaids');
    if (fate === 'fail') return { type: 'mark_paid_failed', reason: 'HTTP 503' };
    if (isModelPaid(p.status)) return { type: 'mark_paid_failed', reason: 'purchase_already_paid_for' };
    if (!OPEN_STATUSES.includes(p.status) && !isModelPending(p.status)) {
      return { type: 'mark_paid_failed', reason: `invalid_purchase_status: ${p.status}` };
    }
    p.markedPaid = true;
    delete p.pendingThen;
    this.setStatus(p, 'paid');
    if (fate === 'lost') return { type: 'mark_paid_failed', reason: 'timeout (it may have been marked)' };
    return { type: 'marked_paid', purchase: facts(p) };
  }

  private peekCharge(): ChargeOutcome {
    for (;;) {
      const o = this.script.charges[this.used.charges] ?? this.script.thereafter;
      const transport = o.kind === 'http_5xx' || o.kind === 'transport';
      if (!(this.healthy && transport)) return o;
      if (this.used.charges >= this.script.charges.length) return { kind: 'paid' };
      this.used.charges++;
    }
  }

  private fate(kind: 'creates' | 'reads' | 'cancels' | 'markPaids'): CallFate {
    const i = this.used[kind]++;
    return this.healthy ? 'ok' : (this.script[kind][i] ?? 'ok');
  }

  private nowSec(): number {
    return Math.floor(this.clock() / 1000);
  }

  private setStatus(p: ModelPurchase, status: string): void {
    p.status = status;
    p.updatedOn = Math.max(p.updatedOn, this.nowSec());
    p.history.push(status);
    if (status !== 'error' && status !== 'blocked') delete p.declineCode;
    this.emit(p);
  }

  private emit(p: ModelPurchase): void {
    this.outbox.push({ facts: facts(p), delivered: false });
  }

  /** Picks the webhook a delivery step delivers (undefined: nothing to deliver). */
  webhookFor(mode: WebhookMode, pick: number): PurchaseFacts | undefined {
    const undelivered = this.outbox.filter((w) => !w.delivered);
    const delivered = this.outbox.filter((w) => w.delivered);
    switch (mode) {
      case 'next':
      case 'drop': {
        const w = undelivered[0];
        if (!w) return undefined;
        w.delivered = true;
        return mode === 'next' ? w.facts : undefined;
      }
      case 'reorder': {
        const w = undelivered[undelivered.length - 1];
        if (!w) return undefined;
        w.delivered = true;
        return w.facts;
      }
      case 'duplicate':
        return delivered[delivered.length - 1]?.facts;
      case 'stale':
        return delivered.length ? delivered[pick % delivered.length]!.facts : undefined;
    }
  }
}

function facts(p: ModelPurchase): PurchaseFacts {
  return {
    purchaseId: p.id,
    status: p.status,
    updatedOn: p.updatedOn,
    ...(p.declineCode !== undefined ? { declineCode: p.declineCode, declineMessage: 'declined' } : {}),
  };
}

// ------------------------------------------------------------------------------------------------------------
// The driver
// ------------------------------------------------------------------------------------------------------------

/** The machine broke the interpreter's protocol (or threw): every property fails on it. */
export class CycleProtocolError extends Error {}

export interface TraceEntry {
  at: number;
  phase: 'steps' | 'quiescence';
  event: CycleEvent;
  prev: CycleMachineState;
  next: CycleMachineState;
  commands: CycleCommand[];
  /** What the driver knew when the event was applied (independent of the machine's state). */
  paused: boolean;
  cancelRequested: boolean;
}

export interface CallRecord {
  at: number;
  command: Extract<CycleCommand, { type: GatewayCall | 'record_settlement' }>;
  /** The Purchase's status at the gateway when the command was issued. */
  statusAtIssue?: string;
  answer?: CycleEvent;
}

export interface CycleRun {
  scenario: CycleScenario;
  trace: TraceEntry[];
  calls: CallRecord[];
  model: CycleGatewayModel;
  final: CycleMachineState;
  /** Reached `finished` when driven to quiescence. */
  finished: boolean;
  /** Why it did not finish, when it did not. */
  stuck?: string;
  now: number;
}

const CALLS: readonly string[] = [
  'create_purchase',
  'charge',
  'read_purchase',
  'cancel_purchase',
  'mark_paid',
  'record_settlement',
];
type CallCommand = Extract<CycleCommand, { type: GatewayCall | 'record_settlement' }>;
const isCall = (c: CycleCommand): c is CallCommand => CALLS.includes(c.type);

export const QUIESCENCE_STEPS = 600;

export function simulateCycle(scenario: CycleScenario): CycleRun {
  let now = SIM_START;
  const model = new CycleGatewayModel(scenario.gateway, () => now);
  const policy = deepFreeze(plainCopy(scenario.policy));
  const targets: SettlementTargetRef[] = Array.from({ length: scenario.settlementTargets }, (_v, i) =>
    i % 2 === 0
      ? { kind: 'activeplatform', accountId: `acct_${i}`, paymentMethodId: 7 }
      : { kind: 'gormic', orderId: `ord_${i}` },
  );
  let state = initialCycleState({
    token: 'tok_0',
    amountMinor: 4_990,
    priorTokenAttempts: scenario.priorAttemptsHoursAgo.map((h) => SIM_START - h * HOUR),
    settlementTargets: targets,
    paused: scenario.paused,
  });
  const trace: TraceEntry[] = [];
  const calls: CallRecord[] = [];
  let inFlight: CallRecord | undefined;
  let paused = scenario.paused;
  let cancelRequested = false;
  let tokens = 0;
  let markPaidRequests = 0;
  let phase: TraceEntry['phase'] = 'steps';

  const feed = (event: CycleEvent): void => {
    if (state.finished) return; // the workflow has returned: nothing reaches it any more
    if (event.type === 'hold') paused = event.paused;
    const prev = deepFreeze(state); // each decision's state is fresh: frozen, any mutation by the next one throws
    const frozenEvent = deepFreeze(plainCopy(event));
    let decision;
    try {
      decision = decideCycle(prev, frozenEvent, {
        now,
        policy,
        ...(scenario.purchaseLife ? { purchaseLife: true } : {}),
      });
    } catch (err) {
      throw new CycleProtocolError(`decideCycle threw on ${event.type}: ${(err as Error).message}`);
    }
    const { state: next, commands } = decision;
    trace.push({ at: now, phase, event, prev, next, commands, paused, cancelRequested });
    if (event.type === 'cancel_requested') cancelRequested = true;
    const answered = isAnswer(event, inFlight?.command.type);
    if (answered && inFlight) {
      inFlight.answer = event;
      inFlight = undefined;
    }
    const issued = commands.filter(isCall);
    if (issued.length > 1) throw new CycleProtocolError(`one decision issued ${issued.length} calls`);
    const call = issued[0];
    if (call) {
      if (inFlight) {
        throw new CycleProtocolError(`${call.type} issued while ${inFlight.command.type} is in flight`);
      }
      if (next.inFlight !== call.type) {
        throw new CycleProtocolError(`${call.type} issued but state.inFlight is ${String(next.inFlight)}`);
      }
      const statusAtIssue = 'purchaseId' in call ? model.purchases.get(call.purchaseId)?.status : undefined;
      inFlight = { at: now, command: call, ...(statusAtIssue !== undefined ? { statusAtIssue } : {}) };
      calls.push(inFlight);
    } else if (!inFlight && next.inFlight) {
      throw new CycleProtocolError(`state.inFlight is ${next.inFlight} but no call was issued`);
    } else if (inFlight && next.inFlight !== inFlight.command.type) {
      throw new CycleProtocolError(
        `${inFlight.command.type} is in flight but state.inFlight is ${String(next.inFlight)} after ${event.type}`,
      );
    }
    state = next;
  };

  const answer = (): void => {
    const call = inFlight!;
    if (call.command.type === 'record_settlement') {
      const { index } = call.command;
      feed(
        model.settle()
          ? { type: 'settlement_recorded', index, externalId: `ext_${index}_${calls.length}` }
          : { type: 'settlement_failed', index, error: 'HTTP 503' },
      );
    } else {
      feed(model.execute(call.command));
    }
  };

  const fireTimer = (): boolean => {
    if (state.wakeAt === undefined) return false;
    now = Math.max(now, state.wakeAt);
    feed({ type: 'timer' });
    return true;
  };

  feed({ type: 'started' });

  for (const step of scenario.steps) {
    if (state.finished) break;
    switch (step.kind) {
      case 'answer':
        if (inFlight) answer();
        else fireTimer();
        break;
      case 'webhook': {
        const w = model.webhookFor(step.mode, step.pick);
        if (w) feed({ type: 'gateway_event', purchase: w });
        break;
      }
      case 'gateway':
        if (step.change === 'resolve_pending') model.resolvePending();
        else model.externalChange(step.change);
        break;
      case 'advance':
        if (inFlight) break; // a call takes no time worth modelling; the workflow waits on it
        if (state.wakeAt !== undefined && state.wakeAt <= now + step.minutes * 60_000) fireTimer();
        else now += step.minutes * 60_000;
        break;
      case 'cancel':
        feed({ type: 'cancel_requested', reason: 'customer canceled' });
        break;
      case 'hold':
        feed({ type: 'hold', paused: step.paused });
        break;
      case 'retry_now':
        if (step.force || retryNowRefusal(state, { now, policy }) === undefined) feed({ type: 'retry_now_requested' });
        break;
      case 'token':
        feed({ type: 'token_updated', token: step.same ? state.token : `tok_${++tokens}` });
        break;
      case 'mark_paid':
        feed({
          type: 'mark_paid_requested',
          requestId: `mp_${++markPaidRequests}`,
          ...(step.paidOnOffsetHours !== undefined
            ? { paidOn: Math.floor((now - step.paidOnOffsetHours * HOUR) / 1000) }
            : {}),
        });
        break;
      case 'settlement_retry':
        feed({ type: 'settlement_retry_requested' });
        break;
    }
  }

  // Quiescence: a healthy gateway, the hold lifted, calls answered, pending charges settled, timers fired.
  phase = 'quiescence';
  model.healthy = true;
  let stuck: string | undefined;
  for (let i = 0; !state.finished; i++) {
    if (i >= QUIESCENCE_STEPS) {
      stuck = `not finished after ${QUIESCENCE_STEPS} quiescence steps (status ${state.status})`;
      break;
    }
    if (paused) feed({ type: 'hold', paused: false });
    else if (inFlight) answer();
    else if (model.resolvePending()) continue;
    else if (!fireTimer()) {
      stuck = `waits for nothing: status ${state.status}, no call in flight, no wakeAt`;
      break;
    }
  }

  // The gateway goes on after the workflow returned: a charge it left pending still settles.
  model.resolvePending();

  return { scenario, trace, calls, model, final: state, finished: state.finished, now, ...(stuck ? { stuck } : {}) };
}

function isAnswer(e: CycleEvent, call: string | undefined): boolean {
  switch (call) {
    case 'create_purchase':
      return e.type === 'purchase_created' || e.type === 'purchase_create_failed';
    case 'charge':
      return ['charged', 'charge_declined', 'charge_refused', 'charge_failed'].includes(e.type);
    case 'read_purchase':
      return e.type === 'purchase_read' || e.type === 'purchase_read_failed';
    case 'cancel_purchase':
      return e.type === 'purchase_canceled' || e.type === 'purchase_cancel_failed';
    case 'mark_paid':
      return e.type === 'marked_paid' || e.type === 'mark_paid_failed';
    case 'record_settlement':
      return e.type === 'settlement_recorded' || e.type === 'settlement_failed';
    default:
      return false;
  }
}

/** A JSON copy: the machine's state and events are plain data (and structuredClone crosses realms under jest). */
export const plainCopy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** A short, readable account of a run for failure messages. */
export function describeRun(run: CycleRun, last = 40): string {
  const lines = run.trace.slice(-last).map((t) => {
    const cmds = t.commands
      .map((c) => (c.type === 'alert' || c.type === 'notify' ? `${c.type}:${'code' in c ? c.code : c.event}` : c.type))
      .join(',');
    const ev =
      t.event.type === 'gateway_event' || 'purchase' in t.event ? `${t.event.type}(${summary(t.event)})` : t.event.type;
    return `  +${((t.at - SIM_START) / HOUR).toFixed(2)}h ${t.phase === 'quiescence' ? 'q ' : ''}${ev} -> ${t.next.status}${t.next.inFlight ? `[${t.next.inFlight}]` : ''} ${cmds}`;
  });
  const purchases = [...run.model.purchases.values()].map(
    (p) => `${p.id}${p.known ? '' : '(lost)'}:${p.history.join('>')}`,
  );
  return [`purchases: ${purchases.join(' | ')}`, ...lines].join('\n');
}

function summary(e: CycleEvent): string {
  if ('purchase' in e) return `${e.purchase.purchaseId} ${e.purchase.status}@${e.purchase.updatedOn}`;
  return '';
}
