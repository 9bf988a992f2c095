/**
 * `POST /purchases/{id}/charge/` as the gateway decides it: a paid or pending Purchase is never charged twice, and the
 * token's scenario (./scenarios.ts) picks the outcome. Returns the answer as data; the route only sends it.
 */
import type { SandboxTimers } from '../kit';
import {
  allError,
  CHARGEABLE,
  IN_FLIGHT,
  PAID_LIKE,
  TOKEN_STATUSES,
  type QorePayModel,
  type SandboxPurchase,
} from './model';
import { declineMessageFor, scenarioForToken, type Scenario } from './scenarios';

export type ChargeAnswer =
  | { type: 'answer'; status: number; body: unknown; headers?: Record<string, string> }
  /** Committed, and the answer is lost: the route holds the socket until the client gives up. */
  | { type: 'lost' }
  /** The sandbox closed while the charge was in flight. */
  | { type: 'closed' };

export interface ChargeTiming {
  timers: SandboxTimers;
  /** When `pending_*` charges resolve. */
  pendingResolveDelayMs: number;
  /** How long `tok_slow_*` charges take. */
  slowResponseMs: number;
}

const ok = (body: unknown): ChargeAnswer => ({ type: 'answer', status: 200, body });
const refused = (status: number, body: unknown, headers?: Record<string, string>): ChargeAnswer => ({
  type: 'answer',
  status,
  body,
  ...(headers ? { headers } : {}),
});

/** The scenario of `token`: chosen explicitly, a real recurring token (success), or the token's name. */
export function scenarioOf(model: QorePayModel, token: string): Scenario | undefined {
  const chosen = model.scenarios.get(token);
  if (chosen) return chosen;
  const tokenPurchase = model.purchases.get(token);
  if (!tokenPurchase) return scenarioForToken(token);
  return tokenPurchase.is_recurring_token && TOKEN_STATUSES.has(tokenPurchase.status) ? { type: 'success' } : undefined;
}

export async function chargePurchase(
  model: QorePayModel,
  p: SandboxPurchase,
  token: string,
  timing: ChargeTiming,
): Promise<ChargeAnswer> {
  if (PAID_LIKE.has(p.status)) {
    model.record(p, token, 'error', 'purchase_already_paid_for');
    return refused(400, allError('purchase_already_paid_for', 'Purchase already paid for.'));
  }
  if (IN_FLIGHT.has(p.status)) return ok(p); // a charge is in flight: never a second one
  if (!CHARGEABLE.has(p.status)) {
    return refused(400, allError('invalid_purchase_status', `Purchase in status ${p.status} cannot be paid.`));
  }

  const scenario = scenarioOf(model, token);
  const count = model.counters.get(token) ?? 0;
  /** Scenarios that fail `times` times and then succeed count their attempts per token. */
  const failsAgain = (times: number): boolean => {
    if (count >= times) return false;
    model.counters.set(token, count + 1);
    return true;
  };
  const invalidToken = (): ChargeAnswer => {
    model.record(p, token, 'declined', 'invalid_recurring_token');
    return refused(400, allError('invalid_recurring_token', 'Invalid recurring token.'));
  };
  const declined = (code: string, status: 'error' | 'blocked' = 'error'): ChargeAnswer => {
    model.commitDecline(p, token, code, status);
    return refused(400, allError('purchase_charge_error', 'Failed to charge the purchase.'));
  };
  const succeeded = (): ChargeAnswer => {
    model.commitCharge(p, token);
    return ok(p);
  };

  if (!scenario) return invalidToken();
  switch (scenario.type) {
    case 'success':
      return succeeded();
    case 'invalid_token':
      return invalidToken();
    case 'decline':
      return declined(scenario.code, scenario.status);
    case 'soft_decline':
      return failsAgain(scenario.times) ? declined(scenario.code ?? 'insufficient_funds') : succeeded();
    case 'http_error': {
      if (!failsAgain(scenario.times)) return succeeded();
      const status = scenario.status ?? 500;
      model.record(p, token, 'error', `http_${status}`);
      return refused(status, { detail: 'Internal server error' });
    }
    case 'rate_limited':
      if (!failsAgain(scenario.times)) return succeeded();
      model.record(p, token, 'error', 'rate_limited');
      return refused(
        429,
        { code: 'rate_limited', message: 'Too many requests.' },
        { 'Retry-After': String(scenario.retryAfterSeconds ?? 1) },
      );
    case 'pending':
      startPending(model, p, token, scenario, timing);
      return ok(p);
    case 'slow':
      model.setStatus(p, 'pending_execute'); // the acquirer is working: a concurrent charge must not pay twice
      await timing.timers.sleep(timing.slowResponseMs);
      if (timing.timers.isClosed) return { type: 'closed' };
      return succeeded();
    case 'commit_timeout':
      model.commitCharge(p, token);
      return { type: 'lost' };
    case 'unnamed':
      startUnnamed(model, p, token, scenario.status, timing);
      return ok(p);
  }
}

/**
 * A charge answered in a status outside paid / pending_charge / error, without a webhook: funds on hold that are
 * captured later (paid), a release (released, no money), a zero-amount check that stays (no money), or a pending
 * charge whose Purchase still reads as an invoice status (created, overdue, sent, viewed) until it is paid.
 */
function startUnnamed(
  model: QorePayModel,
  p: SandboxPurchase,
  token: string,
  status: Extract<Scenario, { type: 'unnamed' }>['status'],
  timing: ChargeTiming,
): void {
  model.setStatus(p, status);
  model.record(p, token, 'pending');
  if (status === 'preauthorized') return;
  timing.timers.later(timing.pendingResolveDelayMs, () => {
    if (p.status !== status) return;
    if (status === 'pending_release') {
      model.setStatus(p, 'released');
      model.record(p, token, 'declined', 'released');
      return;
    }
    model.commitCharge(p, token, false);
  });
}

/** `pending_charge` now (with its webhook, unless silent); paid or declined after the pending delay (or when resolved). */
function startPending(
  model: QorePayModel,
  p: SandboxPurchase,
  token: string,
  scenario: Extract<Scenario, { type: 'pending' }>,
  timing: ChargeTiming,
): void {
  const webhooks = scenario.webhooks !== false;
  model.setStatus(p, 'pending_charge');
  model.record(p, token, 'pending');
  if (webhooks) model.emitPurchase('purchase.pending_charge', p);
  const resolve = () => {
    if (p.status !== 'pending_charge') return;
    if (scenario.then === 'paid') {
      model.commitCharge(p, token, webhooks);
      return;
    }
    const code = scenario.failCode ?? 'do_not_honour';
    model.attempt(p, false, { code, message: declineMessageFor(code) });
    model.setStatus(p, 'error');
    model.record(p, token, 'declined', code);
    if (webhooks) model.emitPurchase('purchase.payment_failure', p);
  };
  // `manual`: the charge stays pending until the control API resolves it (a test decides what happens meanwhile).
  if (scenario.manual) model.manualPending.set(p.id, resolve);
  else timing.timers.later(timing.pendingResolveDelayMs, resolve);
}
