/**
 * The reconciliation routes: run a sweep now (`POST /v1/reconciliations`, answered at once with the run's id) and read
 * a run (`GET /v1/reconciliations/:reconciliationId`: its summary so far, or in full once finished).
 */
import { z } from 'zod';
import { parseSince, RECONCILIATION_ID_PATTERN } from '../shared/reconciliation';

/** Closed cycles are checked this far back when a request names no `since`. */
export const DEFAULT_RECONCILIATION_SINCE = '48h';

/** The `since` of a request that names none. */
export function defaultReconciliationSince(now: number): string {
  const r = parseSince(DEFAULT_RECONCILIATION_SINCE, now);
  if (!r.ok) throw new Error(`DEFAULT_RECONCILIATION_SINCE: ${r.message}`);
  return r.since;
}

export const ReconciliationRequestSchema = z.strictObject({
  since: z
    .string()
    .max(40, 'must be at most 40 characters')
    .transform((s, ctx) => {
      const r = parseSince(s, Date.now());
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.message });
        return z.NEVER;
      }
      return r.since;
    })
    .optional()
    .meta({
      description:
        'How far back closed cycles are checked: a duration (30m, 48h, 7d) or an ISO date or instant. Open cycles are ' +
        `always checked. Default ${DEFAULT_RECONCILIATION_SINCE}.`,
    }),
});
export type ReconciliationRequest = z.output<typeof ReconciliationRequestSchema>;

export const ReconciliationIdSchema = z
  .string()
  .regex(RECONCILIATION_ID_PATTERN, 'must be an id answered by POST /v1/reconciliations (reconciliation:...)');

const KindCountsSchema = z.object({
  found: z.number().int(),
  fixed: z.number().int(),
  reported: z.number().int(),
  fixFailed: z.number().int(),
});

export const ReconciliationRunSchema = z.looseObject({
  reconciliationId: z.string(),
  status: z.enum(['running', 'completed', 'failed']),
  error: z.string().optional(),
  summary: z
    .looseObject({
      since: z.string(),
      startedAt: z.string(),
      finishedAt: z.string().optional(),
      cyclesChecked: z.number().int(),
      counts: z.record(z.string(), KindCountsSchema),
      items: z.array(
        z.looseObject({
          kind: z.string(),
          outcome: z.enum(['fixed', 'reported', 'fix_failed']),
          cycleId: z.string(),
          subscriptionId: z.string(),
          periodIndex: z.number().int(),
          purchaseId: z.string().optional(),
          amountMinor: z.number().int(),
          currency: z.string(),
          description: z.string(),
        }),
      ),
      unchecked: z.array(z.object({ cycleId: z.string(), reason: z.string() })),
      text: z.string().meta({ description: 'The summary as plain text, for people.' }),
    })
    .optional(),
});
