/**
 * What a reconciliation sweep reports: the summary a finance person reads (counts per kind, the items, what could
 * not be checked) and the window of closed cycles it looks back over (`--since`). Pure.
 */
import { DISCREPANCY_KINDS, DISCREPANCY_TITLES, type DiscrepancyKind, type ReconciliationItem } from './reconciliation';

// ---------------------------------------------------------------------------------------------------------------
// The summary of a sweep
// ---------------------------------------------------------------------------------------------------------------

/** Items kept in a summary (counts stay exact beyond it). */
export const SUMMARY_ITEM_LIMIT = 200;

export interface KindCounts {
  found: number;
  fixed: number;
  reported: number;
  fixFailed: number;
}

export interface ReconciliationSummary {
  /** Closed cycles were checked back to this instant (ISO); open ones always. */
  since: string;
  startedAt: string;
  finishedAt?: string;
  cyclesChecked: number;
  counts: Record<DiscrepancyKind, KindCounts>;
  items: ReconciliationItem[];
  /** Items beyond SUMMARY_ITEM_LIMIT (counted above, not listed). */
  itemsOmitted: number;
  /** Cycles whose checks could not be made (their state, the gateway or a target could not be read). */
  unchecked: { cycleId: string; reason: string }[];
  uncheckedOmitted: number;
}

export function emptySummary(since: string, startedAt: string): ReconciliationSummary {
  const counts = Object.fromEntries(
    DISCREPANCY_KINDS.map((k) => [k, { found: 0, fixed: 0, reported: 0, fixFailed: 0 }]),
  ) as Record<DiscrepancyKind, KindCounts>;
  return { since, startedAt, cyclesChecked: 0, counts, items: [], itemsOmitted: 0, unchecked: [], uncheckedOmitted: 0 };
}

/** The summary after one more batch of checked cycles. Pure: the input is not modified. */
export function addToSummary(
  s: ReconciliationSummary,
  batch: { checked: number; items: ReconciliationItem[]; unchecked: { cycleId: string; reason: string }[] },
): ReconciliationSummary {
  const next: ReconciliationSummary = JSON.parse(JSON.stringify(s)) as ReconciliationSummary;
  next.cyclesChecked += batch.checked;
  for (const item of batch.items) {
    const c = next.counts[item.kind];
    c.found++;
    if (item.outcome === 'fixed') c.fixed++;
    else if (item.outcome === 'reported') c.reported++;
    else c.fixFailed++;
    if (next.items.length < SUMMARY_ITEM_LIMIT) next.items.push(item);
    else next.itemsOmitted++;
  }
  for (const u of batch.unchecked) {
    if (next.unchecked.length < SUMMARY_ITEM_LIMIT) next.unchecked.push(u);
    else next.uncheckedOmitted++;
  }
  return next;
}

export function totalFound(s: ReconciliationSummary): number {
  return DISCREPANCY_KINDS.reduce((n, k) => n + s.counts[k].found, 0);
}

/** Discrepancies a person must look at: reported ones and fixes that did not take. */
export function needsAttention(s: ReconciliationSummary): number {
  return DISCREPANCY_KINDS.reduce((n, k) => n + s.counts[k].reported + s.counts[k].fixFailed, 0);
}

/** The summary as plain text, for the CLI, the Temporal UI and finance. `money` formats minor units. */
export function summaryText(
  s: ReconciliationSummary,
  money: (amountMinor: number, currency: string) => string,
): string {
  const lines: string[] = [];
  const n = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;
  lines.push(
    `Reconciliation ${s.finishedAt ? 'finished' : 'running'}: ${n(s.cyclesChecked, 'cycle')} checked ` +
      `(open ones, and closed since ${s.since}); started ${s.startedAt}${s.finishedAt ? `, finished ${s.finishedAt}` : ''}.`,
  );
  const found = totalFound(s);
  lines.push(
    found === 0
      ? 'No discrepancies.'
      : `${found === 1 ? '1 discrepancy' : `${found} discrepancies`}; ${needsAttention(s)} need a person ` +
          '(reported or not fixed).',
  );
  for (const k of DISCREPANCY_KINDS) {
    const c = s.counts[k];
    lines.push(
      `- ${DISCREPANCY_TITLES[k]}: ${c.found} (fixed ${c.fixed}, reported ${c.reported}, fix failed ${c.fixFailed})`,
    );
  }
  if (s.items.length) lines.push('', 'Items:');
  for (const i of s.items) {
    const period = i.periodStart ? `${i.periodStart.slice(0, 10)}..${(i.periodEnd ?? '').slice(0, 10)}` : '?';
    lines.push(
      `- [${i.outcome}] ${DISCREPANCY_TITLES[i.kind]}: subscription ${i.subscriptionId}, period ${i.periodIndex} ` +
        `(${period}), purchase ${i.purchaseId ?? 'none'}, ${money(i.amountMinor, i.currency)}` +
        `${i.target ? `, target ${i.target}` : ''}. ${i.description}${i.note ? ` (${i.note})` : ''}`,
    );
  }
  if (s.itemsOmitted) lines.push(`- ... and ${s.itemsOmitted} more (counted above)`);
  if (s.unchecked.length) lines.push('', 'Could not check:');
  for (const u of s.unchecked) lines.push(`- ${u.cycleId}: ${u.reason}`);
  if (s.uncheckedOmitted) lines.push(`- ... and ${s.uncheckedOmitted} more`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------------------------------------------

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** The longest window a sweep looks back over closed cycles. */
export const MAX_WINDOW_MS = 366 * UNIT_MS.d;

/** `30m`, `6h`, `7d` in ms; undefined when not such a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})(m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > 0 ? ms : undefined;
}

/**
 * `--since`: a duration back from `now` (`48h`, `7d`) or an ISO date or instant in the past, at most a year back.
 * Returns the instant (ISO), or the reason it is refused.
 */
export function parseSince(text: string, now: number): { ok: true; since: string } | { ok: false; message: string } {
  const duration = parseDuration(text);
  let at: number;
  if (duration !== undefined) at = now - duration;
  else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) at = Date.parse(text.trim());
  else return { ok: false, message: 'must be a duration (30m, 48h, 7d) or an ISO date or instant (2026-11-01)' };
  if (!Number.isFinite(at)) return { ok: false, message: 'is not a valid date' };
  if (at > now) return { ok: false, message: 'must be in the past' };
  if (now - at > MAX_WINDOW_MS) return { ok: false, message: 'must be at most 366 days back' };
  return { ok: true, since: new Date(at).toISOString() };
}
