/**
 * Charge scenarios of the QorePay sandbox, chosen by the recurring token (like test cards), so a test can invent a
 * unique token and needs no setup. `<x>` is any suffix (make it unique per test); counters are per token string.
 *
 * | token                          | what `POST /purchases/{id}/charge/` does                                          |
 * |--------------------------------|-----------------------------------------------------------------------------------|
 * | `tok_success_<x>`              | 200 `paid`; webhook `purchase.paid` (+ success_callback)                         |
 * | `tok_pending_paid_<x>`         | 200 `pending_charge` (+ webhook); after pendingResolveDelayMs `paid` (+ webhook)  |
 * | `tok_pending_fail_<x>`         | 200 `pending_charge`; later `error` with `do_not_honour`, `purchase.payment_failure` |
 * | `tok_pending_silent_<x>`       | 200 `pending_charge`; later `paid`, and NO webhook at all (polling tests)          |
 * | `tok_pending_hard_<x>`         | 200 `pending_charge`; later `error` with the hard code `stolen_card`              |
 * | `tok_unnamed_<status>_<x>`     | 200 in `<status>` (one of UNNAMED_STATUSES), no webhook; later `paid`, except `preauthorized` (stays: no money) and `pending_release` (`released`) |
 * | `tok_soft<N>_<x>`              | 400 `purchase_charge_error`, attempt `insufficient_funds`, N times; then success |
 * | `tok_hard_<code>_<x>`          | 400 `purchase_charge_error`, attempt `<code>` (a hard code, e.g. `stolen_card`)  |
 * | `tok_blocked_<x>`              | 400 `purchase_charge_error`, status `blocked`, attempt `suspected_fraud`         |
 * | `tok_merchant_<x>`             | 400 `purchase_charge_error`, attempt `no_matching_terminal`                      |
 * | `tok_decline_<code>_<x>`       | 400 `purchase_charge_error`, attempt `<code>` (any code; `tok_decline_<code>--<x>` to be explicit) |
 * | `tok_invalid_<x>`              | 400 `{__all__:[{code:'invalid_recurring_token'}]}`                               |
 * | `tok_500x<N>_<x>`              | N answers HTTP 500 (nothing charged), then success                                |
 * | `tok_429_<x>`                  | one 429 with `Retry-After: 1` (nothing charged), then success                     |
 * | `tok_slow_<x>`                 | success, answered (and committed) after slowResponseMs                            |
 * | `tok_commit_timeout_<x>`       | the charge COMMITS (paid, ledger success, webhooks) but no HTTP answer ever comes; the socket is held until the client gives up |
 * | id of a Purchase with `is_recurring_token: true` | success (unless setScenario chose otherwise)                |
 * | anything else                  | 400 `invalid_recurring_token`                                                     |
 *
 * `setScenario(token, scenario)` (or `POST /__sandbox/scenarios`) overrides all of the above for one token.
 */
import { z } from 'zod';
import { DECLINE_CODES } from '../../domain/declines';

/** Statuses a charge can answer that are not the charge's usual `paid` / `pending_charge` / `error`. */
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

export const ScenarioSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('success') }),
  z.object({
    type: z.literal('pending'),
    then: z.enum(['paid', 'failed']),
    /** false: no webhook for this charge at all (the outcome is found by polling). Default true. */
    webhooks: z.boolean().optional(),
    failCode: z.string().optional(),
    /** true: no timer; the charge stays pending until `POST /__sandbox/purchases/:id/resolve`. */
    manual: z.boolean().optional(),
  }),
  /** Soft decline `times` times for this token (counted across purchases), then success. */
  z.object({ type: z.literal('soft_decline'), times: z.number().int().nonnegative(), code: z.string().optional() }),
  /** Every charge declines with `code`; `status: 'blocked'` for fraud blocks. */
  z.object({ type: z.literal('decline'), code: z.string().min(1), status: z.enum(['error', 'blocked']).optional() }),
  z.object({ type: z.literal('invalid_token') }),
  /** `times` HTTP errors (default 500), nothing charged, then success. */
  z.object({
    type: z.literal('http_error'),
    times: z.number().int().nonnegative(),
    status: z.number().int().min(500).max(599).optional(),
  }),
  z.object({
    type: z.literal('rate_limited'),
    times: z.number().int().nonnegative(),
    retryAfterSeconds: z.number().int().nonnegative().optional(),
  }),
  z.object({ type: z.literal('slow') }),
  /** The charge answers the Purchase in `status` (no webhook); after the pending delay it resolves (see UNNAMED_STATUSES). */
  z.object({
    type: z.literal('unnamed'),
    status: z.enum(UNNAMED_STATUSES),
  }),
  z.object({ type: z.literal('commit_timeout') }),
]);
export type Scenario = z.infer<typeof ScenarioSchema>;

const HARD_CODES = [
  ...Object.entries(DECLINE_CODES)
    .filter(([, cls]) => cls === 'hard')
    .map(([code]) => code),
  'blacklisted_tx',
].sort((a, b) => b.length - a.length);

const ALL_CODES = [...Object.keys(DECLINE_CODES), 'blacklisted_tx', 'timeout'].sort((a, b) => b.length - a.length);

/** The longest known code that `rest` starts with (followed by `_`, `--` or the end). */
function knownCodePrefix(rest: string, codes: string[]): string | undefined {
  return codes.find((c) => rest === c || rest.startsWith(`${c}_`) || rest.startsWith(`${c}--`));
}

function codeOf(rest: string, codes: string[]): string | undefined {
  if (rest === '') return undefined;
  const explicit = rest.indexOf('--');
  if (explicit > 0) return rest.slice(0, explicit);
  const known = knownCodePrefix(rest, codes);
  if (known) return known;
  const lastUnderscore = rest.lastIndexOf('_');
  return lastUnderscore > 0 ? rest.slice(0, lastUnderscore) : rest;
}

const after = (token: string, prefix: string): string | undefined =>
  token === prefix ? '' : token.startsWith(`${prefix}_`) ? token.slice(prefix.length + 1) : undefined;

/** The scenario a token string selects, or undefined (then the sandbox answers invalid_recurring_token). */
export function scenarioForToken(token: string): Scenario | undefined {
  if (after(token, 'tok_success') !== undefined) return { type: 'success' };
  if (after(token, 'tok_pending_paid') !== undefined) return { type: 'pending', then: 'paid' };
  if (after(token, 'tok_pending_fail') !== undefined) return { type: 'pending', then: 'failed' };
  if (after(token, 'tok_pending_silent') !== undefined) return { type: 'pending', then: 'paid', webhooks: false };
  if (after(token, 'tok_pending_hard') !== undefined)
    return { type: 'pending', then: 'failed', failCode: 'stolen_card' };
  const unnamed = after(token, 'tok_unnamed');
  if (unnamed !== undefined) {
    const status = [...UNNAMED_STATUSES]
      .sort((a, b) => b.length - a.length)
      .find((st) => unnamed === st || unnamed.startsWith(`${st}_`));
    return status ? { type: 'unnamed', status } : undefined;
  }
  if (after(token, 'tok_invalid') !== undefined) return { type: 'invalid_token' };
  if (after(token, 'tok_merchant') !== undefined) return { type: 'decline', code: 'no_matching_terminal' };
  if (after(token, 'tok_blocked') !== undefined) return { type: 'decline', code: 'suspected_fraud', status: 'blocked' };
  if (after(token, 'tok_429') !== undefined) return { type: 'rate_limited', times: 1, retryAfterSeconds: 1 };
  if (after(token, 'tok_slow') !== undefined) return { type: 'slow' };
  if (after(token, 'tok_commit_timeout') !== undefined) return { type: 'commit_timeout' };
  const soft = /^tok_soft(\d+)(?:_|$)/.exec(token);
  if (soft?.[1]) return { type: 'soft_decline', times: Number(soft[1]), code: 'insufficient_funds' };
  const http = /^tok_(5\d\d)x(\d+)(?:_|$)/.exec(token);
  if (http?.[1] && http[2]) return { type: 'http_error', status: Number(http[1]), times: Number(http[2]) };
  const hard = after(token, 'tok_hard');
  if (hard !== undefined) {
    const code = codeOf(hard, HARD_CODES);
    return code ? { type: 'decline', code } : undefined;
  }
  const decline = after(token, 'tok_decline');
  if (decline !== undefined) {
    const code = codeOf(decline, ALL_CODES);
    return code ? { type: 'decline', code } : undefined;
  }
  return undefined;
}

/** Human text for an attempt error code (the gateway's wording is not documented). */
export function declineMessageFor(code: string): string {
  const text = code.replace(/_/g, ' ');
  return `Transaction declined: ${text}`;
}
