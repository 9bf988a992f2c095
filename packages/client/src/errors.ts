/**
 * The billing errors a BillingClient throws: four classes with a `code` to switch on. Temporal's own errors never
 * leave the client (see `translateTemporalError` in ./temporal-adapter.ts).
 */
import type { FieldIssue } from './schemas';

export type BillingErrorCode = 'validation_failed' | 'not_found' | 'conflict' | 'unavailable';

/**
 * What each code means at the edges, in one place: the HTTP API answers `httpStatus`, the CLI exits with `exitCode`.
 */
export const BILLING_ERROR_OUTCOMES = {
  validation_failed: { httpStatus: 400, exitCode: 2 },
  not_found: { httpStatus: 404, exitCode: 3 },
  conflict: { httpStatus: 409, exitCode: 4 },
  unavailable: { httpStatus: 503, exitCode: 1 },
} as const satisfies Record<BillingErrorCode, { httpStatus: number; exitCode: number }>;

/**
 * The brand `isBillingError` checks: a registered symbol, so an error thrown by another copy of this package (two
 * versions in one node_modules, a bundler's duplicate) is still recognised, where `instanceof` would say no.
 */
const BILLING_ERROR_BRAND = Symbol.for('@temporal-billing/client:BillingError');

export abstract class BillingError extends Error {
  abstract readonly code: BillingErrorCode;
  readonly [BILLING_ERROR_BRAND] = true;
}

/** The input is invalid; `issues` name each field (`plan.currency`, `schedule.anchor`). Nothing was changed. */
export class BillingValidationError extends BillingError {
  readonly code = 'validation_failed' as const;
  constructor(readonly issues: FieldIssue[]) {
    super(`Invalid input: ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`);
    this.name = 'BillingValidationError';
  }
}

export class BillingNotFoundError extends BillingError {
  readonly code = 'not_found' as const;
  constructor(
    readonly resource: 'subscription' | 'cycle',
    readonly id: string,
  ) {
    super(`${resource} ${JSON.stringify(id)} not found`);
    this.name = 'BillingNotFoundError';
  }
}

/** The request clashes with what exists (different terms for an existing id) or the workflow refused it. */
export class BillingConflictError extends BillingError {
  readonly code = 'conflict' as const;
  constructor(
    message: string,
    /** For creates with different terms: the fields that differ (no values: they may be secrets). */
    readonly fields: string[] = [],
  ) {
    super(message);
    this.name = 'BillingConflictError';
  }
}

/** Temporal (or, for a create's customer check, the payment gateway) could not be reached; retry later. */
export class BillingUnavailableError extends BillingError {
  readonly code = 'unavailable' as const;
  /** Which dependency failed. */
  readonly dependency: 'temporal' | 'gateway';
  constructor(message: string, options?: { cause?: unknown; dependency?: 'temporal' | 'gateway' }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BillingUnavailableError';
    this.dependency = options?.dependency ?? 'temporal';
  }
}

export function isBillingError(err: unknown): err is BillingError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { [BILLING_ERROR_BRAND]?: unknown; code?: unknown };
  return e[BILLING_ERROR_BRAND] === true && typeof e.code === 'string' && e.code in BILLING_ERROR_OUTCOMES;
}
