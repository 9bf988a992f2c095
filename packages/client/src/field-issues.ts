/**
 * Field-level problems: zod issues flattened to `{ path, message }` with messages that say what to send, the
 * nothing-to-bill check of new terms, and `stripUndefined` for exactOptionalPropertyTypes.
 */
import type { z } from 'zod';
import type { BillingSchedule } from '../../../src/domain/calendar';
import { nothingToBillAtCreation } from '../../../src/domain/subscription';

// ---------------------------------------------------------------------------------------------------------------
// Issues
// ---------------------------------------------------------------------------------------------------------------

/** One field-level problem; `path` is dotted (`plan.lineItems.0.priceMinor`), '' for the whole body. */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * The issues of new subscription terms that would bill nothing when created at `now`: a past anchor whose `maxPeriods`
 * all ended before `now` (the domain's rule, `nothingToBillAtCreation`). A check of the terms against the clock, so it
 * runs when a subscription is created, not in the schema (a repeat of an accepted create still answers as before).
 */
export function nothingToBillIssues(
  terms: { schedule: BillingSchedule; maxPeriods?: number | undefined },
  now: number,
): FieldIssue[] {
  const why = nothingToBillAtCreation(terms.schedule, terms.maxPeriods, now);
  return why
    ? [
        { path: 'schedule.anchor', message: why },
        { path: 'maxPeriods', message: why },
      ]
    : [];
}

/** Flattens zod issues into field issues; unknown keys become one issue per key, on that key's path. */
export function fieldIssues(
  error: z.ZodError,
  prefix: readonly (string | number)[] = [],
  input?: unknown,
): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const base = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...base, key].join('.'), message: 'unknown field' });
    } else {
      out.push({ path: base.join('.'), message: whatToSend(issue, input) });
    }
  }
  return out;
}

/**
 * zod's own wording for a type or option problem ("Invalid option: expected one of ...") says what is wrong but
 * not what to send: a missing field says it is required and what it takes, a wrong option lists the options.
 */
function whatToSend(issue: z.core.$ZodIssue, input: unknown): string {
  const options = issue.code === 'invalid_value' ? issue.values.map((v) => JSON.stringify(v)).join(', ') : undefined;
  const wanted =
    issue.code === 'invalid_value'
      ? issue.values.length === 1
        ? options!
        : `one of ${options}`
      : issue.code === 'invalid_type'
        ? `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`
        : undefined;
  if (wanted === undefined || input === undefined) return issue.message;
  let at: unknown = input;
  for (const key of issue.path) {
    at = at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined;
  }
  if (at === undefined) return `is required: send ${wanted}`;
  return issue.code === 'invalid_value' ? `must be ${wanted}` : issue.message;
}

/** Parses or returns the field issues; never throws. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: readonly (string | number)[] = [],
): { ok: true; value: z.output<S> } | { ok: false; issues: FieldIssue[] } {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, issues: fieldIssues(parsed.error, prefix, value) };
}

/**
 * Turns a domain message 'field.sub: message' into an issue on that path (relative to the refined object); the
 * domain validators name their field first.
 */
export function addPrefixedIssue(ctx: z.RefinementCtx, problem: string): void {
  const m = /^([A-Za-z][A-Za-z0-9]*(?:\.\d+)?): (.*)$/s.exec(problem);
  if (m) {
    const path = m[1]!.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    ctx.addIssue({ code: 'custom', path, message: m[2]! });
  } else {
    ctx.addIssue({ code: 'custom', message: problem });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// exactOptionalPropertyTypes: zod infers `x?: T | undefined`; the contracts say `x?: T`.
// ---------------------------------------------------------------------------------------------------------------

export type Defined<T> = T extends readonly (infer U)[]
  ? Defined<U>[]
  : T extends object
    ? { [K in keyof T]: Defined<Exclude<T[K], undefined>> }
    : T;

/** Drops keys whose value is undefined, deeply (parsed JSON has none; typed callers may pass them). */
export function stripUndefined<T>(value: T): Defined<T> {
  if (Array.isArray(value)) return value.map((v: unknown) => stripUndefined(v)) as Defined<T>;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = stripUndefined(v);
    return out as Defined<T>;
  }
  return value as Defined<T>;
}
