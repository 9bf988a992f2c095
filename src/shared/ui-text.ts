/**
 * What the Temporal UI shows about billing: workflow summaries and details, and the one-line summaries of activities
 * and timers, in billing words (which subscription, period, amount, status, attempt). Pure text, no secrets: tokens
 * appear masked to their last 4 characters. Deterministic (workflow code).
 */
import { minorToMajorString } from '../domain/money';
import { maskToken } from './subscription';

export function money(amountMinor: number, currency: string): string {
  return `${minorToMajorString(amountMinor, currency)} ${currency}`;
}

const day = (iso: string): string => iso.slice(0, 10);
const at = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export interface CycleText {
  subscriptionId: string;
  periodIndex: number;
  periodStart: string;
  periodEnd: string;
  amountMinor: number;
  currency: string;
}

/** The cycle's fixed one-liner, set at start by the subscription. */
export function cycleStaticSummary(c: CycleText): string {
  return `Bill ${c.subscriptionId} period ${c.periodIndex} (${day(c.periodStart)} → ${day(c.periodEnd)}): ${money(c.amountMinor, c.currency)}`;
}

/** The cycle's fixed details (markdown in the UI). */
export function cycleStaticDetails(c: CycleText & { customerId: string; token: string; settlement: string[] }): string {
  return [
    `**Subscription** ${c.subscriptionId} · **customer** ${c.customerId}`,
    `**Period** ${c.periodIndex}: ${c.periodStart} → ${c.periodEnd}`,
    `**Amount** ${money(c.amountMinor, c.currency)} · **card** ${maskToken(c.token)}`,
    `**Settlement** ${c.settlement.length ? c.settlement.join(', ') : 'none'}`,
  ].join('\n\n');
}

/** The cycle's current details: status and what it waits for. */
export function cycleCurrentDetails(
  c: CycleText,
  s: {
    status: string;
    attempts: number;
    token: string;
    nextAttemptAt?: number | undefined;
    actionRequiredUntil?: number | undefined;
    lastDeclineCode?: string | undefined;
    failureReason?: string | undefined;
    paidAt?: number | undefined;
  },
): string {
  const lines = [
    `**${s.status}** · ${money(c.amountMinor, c.currency)} for ${c.subscriptionId} period ${c.periodIndex}`,
    `${s.attempts} charge attempt${s.attempts === 1 ? '' : 's'} with card ${maskToken(s.token)}${s.lastDeclineCode ? ` · last decline: ${s.lastDeclineCode}` : ''}`,
  ];
  if (s.paidAt !== undefined) lines.push(`paid at ${at(s.paidAt)}`);
  if (s.nextAttemptAt !== undefined) lines.push(`next attempt at ${at(s.nextAttemptAt)}`);
  if (s.actionRequiredUntil !== undefined) lines.push(`waiting for a new card until ${at(s.actionRequiredUntil)}`);
  if (s.failureReason) lines.push(`reason: ${s.failureReason}`);
  return lines.join('\n\n');
}

export function chargeSummary(attempt: number, token: string): string {
  return `charge attempt ${attempt} with card ${maskToken(token)}`;
}

/** The summary of the main loop's timer, from the status it waits in. */
export function waitSummary(status: string, wakeAt: number): string {
  switch (status) {
    case 'pending':
      return `waiting for the pending outcome; re-read the Purchase at ${at(wakeAt)}`;
    case 'retry_scheduled':
      return `next retry at ${at(wakeAt)}`;
    case 'action_required':
      return `waiting for a new card until ${at(wakeAt)}`;
    default:
      return `${status}: wake at ${at(wakeAt)}`;
  }
}

export function subscriptionStaticSummary(s: {
  subscriptionId: string;
  customerId: string;
  planId: string;
  amountMinor: number;
  currency: string;
  every: string;
}): string {
  return `Subscription ${s.subscriptionId} of ${s.customerId}: plan ${s.planId}, ${money(s.amountMinor, s.currency)} every ${s.every}`;
}
