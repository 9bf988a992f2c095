/**
 * What Gormic OM's error answers mean. The error itself is the shared `IntegrationError` (source `gormic`): callers
 * branch on `kind`, `retryable`, `businessOutcome`, `outcomeUnknown` and `code` (e.g. ORDER_CLOSED).
 */
import {
  COMMON_ERROR_KINDS,
  isIntegrationError,
  kindTraits,
  type HttpAnswer,
  type IntegrationError,
  type KindTraits,
  type StatusVerdict,
} from '../http';
import { gormicErrorBodySchema } from './schemas';

/** Functional error codes (HTTP 400 `{error:{code}}`) that are Gormic's business answer about the order. */
export const GORMIC_BUSINESS_CODES = [
  'ORDER_CLOSED',
  'ORDER_CANCELED',
  'INVOICE_CLOSED',
  'INVOICE_NOT_FOUND',
  'INVALID_STATUS',
  'LIMIT_REACHED',
] as const;
export type GormicBusinessCode = (typeof GORMIC_BUSINESS_CODES)[number];

/** Functional error codes that mean our request was wrong (a bug or misconfiguration on our side). */
export const GORMIC_VALIDATION_CODES = ['InvalidParameter', 'MethodNotFound'] as const;

export const GORMIC_ERROR_KINDS = ['BusinessRejected', ...COMMON_ERROR_KINDS] as const;
export type GormicErrorKind = (typeof GORMIC_ERROR_KINDS)[number];

export type GormicError = IntegrationError<GormicErrorKind> & { source: 'gormic' };

/** Business answers are final; only rate limits and transport failures are worth a retry. */
export const GORMIC_KIND_TRAITS: KindTraits<GormicErrorKind> = kindTraits(GORMIC_ERROR_KINDS, {
  businessOutcome: ['BusinessRejected'],
});

const BUSINESS = new Set<string>(GORMIC_BUSINESS_CODES);
const VALIDATION = new Set<string>(GORMIC_VALIDATION_CODES);

export function isGormicError(err: unknown): err is GormicError {
  return isIntegrationError(err, 'gormic');
}

/** Functional errors are HTTP 400 `{"error":{"code","message"}}`; the code says whose problem it is. */
export function classifyGormicAnswer(answer: HttpAnswer): StatusVerdict<GormicErrorKind> {
  const { status } = answer;
  const body = gormicErrorBodySchema.safeParse(answer.json);
  const code = body.success ? String(body.data.error.code) : undefined;
  const detail = body.success ? body.data.error.message : undefined;
  let kind: GormicErrorKind;
  if (status === 401 || status === 403) kind = 'Unauthorized';
  else if (status === 404) kind = 'NotFound';
  else if (status === 429) kind = 'RateLimited';
  else if (status === 408 || status >= 500) kind = 'Transient';
  else if (status === 400 || status === 409 || status === 422) {
    if (code !== undefined && BUSINESS.has(code)) kind = 'BusinessRejected';
    else if (code !== undefined && VALIDATION.has(code)) kind = 'Validation';
    else kind = code === undefined ? 'Validation' : 'Unexpected';
  } else kind = 'Unexpected';
  return { kind, code, detail };
}
