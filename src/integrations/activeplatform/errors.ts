/**
 * What ActivePlatform's error answers mean. The error itself is the shared `IntegrationError` (source
 * `activeplatform`): callers branch on `kind`, `retryable`, `businessOutcome` and `outcomeUnknown`.
 */
import {
  COMMON_ERROR_KINDS,
  IntegrationError,
  isIntegrationError,
  kindTraits,
  type HttpAnswer,
  type KindTraits,
  type StatusVerdict,
} from '../http';
import { activePlatformErrorBodySchema } from './schemas';

export const ACTIVEPLATFORM_ERROR_KINDS = ['InvalidStatus', ...COMMON_ERROR_KINDS] as const;
export type ActivePlatformErrorKind = (typeof ACTIVEPLATFORM_ERROR_KINDS)[number];

export type ActivePlatformError = IntegrationError<ActivePlatformErrorKind> & { source: 'activeplatform' };

export const ACTIVEPLATFORM_KIND_TRAITS: KindTraits<ActivePlatformErrorKind> = kindTraits(ACTIVEPLATFORM_ERROR_KINDS, {
  businessOutcome: ['InvalidStatus'],
});

export function isActivePlatformError(err: unknown): err is ActivePlatformError {
  return isIntegrationError(err, 'activeplatform');
}

/** An error the client raises itself (not from an answer), e.g. a payment in a status that cannot be reversed. */
export function activePlatformError(
  kind: ActivePlatformErrorKind,
  message: string,
  where: { operation: string; method: string; path: string },
): ActivePlatformError {
  return new IntegrationError({
    source: 'activeplatform',
    kind,
    message,
    ...ACTIVEPLATFORM_KIND_TRAITS[kind],
    ...where,
  }) as ActivePlatformError;
}

/** Error bodies are undocumented: `{error: "text"}`, `{error: {code, message}}`, `{code, message}`, `{errors}`. */
export function classifyActivePlatformAnswer(answer: HttpAnswer): StatusVerdict<ActivePlatformErrorKind> {
  const { status } = answer;
  const body = activePlatformErrorBodySchema.safeParse(answer.json);
  let code: string | undefined;
  let detail: string | undefined;
  if (body.success) {
    const e = body.data.error;
    if (typeof e === 'string') detail = e;
    else if (e) {
      code = e.code;
      detail = e.message;
    }
    code ??= body.data.code;
    detail ??= body.data.message;
    if (detail === undefined && body.data.errors !== undefined) detail = JSON.stringify(body.data.errors);
  } else if (answer.text.length > 0) {
    detail = answer.text.slice(0, 200);
  }
  let kind: ActivePlatformErrorKind;
  if (status === 401 || status === 403) kind = 'Unauthorized';
  else if (status === 404) kind = 'NotFound';
  else if (status === 409) kind = 'InvalidStatus';
  else if (status === 400 || status === 422) kind = code === 'invalid_status' ? 'InvalidStatus' : 'Validation';
  else if (status === 429) kind = 'RateLimited';
  else if (status === 408 || status >= 500) kind = 'Transient';
  else kind = 'Unexpected';
  return { kind, code, detail };
}
