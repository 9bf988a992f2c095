/**
 * The billing errors a BillingClient throws: four classes with a `code` to switch on. Temporal's own errors never
 * leave the client (see `translateTemporalError` in ./temporal-adapter.ts).
 */
import type { FieldIssue } from './schemas';

export type BillingErrorCode = 'validation_failed' | 'not_found' | 'conflict' | 'unavailable';

export abstract class BillingError extends Error {
  abstract readonly code: BillingErrorCode;
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
  return err instanceof BillingError;
}
