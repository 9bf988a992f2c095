/**
 * ActivePlatform v1 vendor API client (seed 003, `reference/settlement-apis.md`).
 *
 * - Auth: the manager's `api_token` travels in the query string (v1 has no header auth). It is passed to axios as a
 *   param and never appears in what we log or throw: errors are rebuilt from scrubbed text, axios errors (whose
 *   `config` holds the token) are never attached, and every text taken from a response is scrubbed again.
 * - Money: `total` is a JSON float in major units. We send it as a JSON number literal written from the exact decimal
 *   string (`minorToMajorString`) inside a raw JSON body, so no float arithmetic happens on our side; amounts are
 *   bounded to 15 significant digits so the server's own float parse is exact too.
 * - Idempotency: v1 has no idempotency key. The engine writes its key (the cycle workflow id plus operation) into
 *   `comment` and checks before writing with `findPaymentByComment`.
 * - Documented by the seed: create (`POST payments.json`) and complete (`POST payments/{id}/complete.json`).
 *   INFERRED, not in the seed: get (`GET payments/{id}.json`), list (`GET payments.json?account_id=`) and cancel
 *   (`POST payments/{id}/cancel.json`). They follow v1's URL conventions; verify against a real tenant.
 * - Reversal: see `reversePayment` and README.md.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { type z } from 'zod';
import {
  assertDoubleExactAmount,
  assertPositiveMinorAmount,
  majorToMinor,
  minorToMajorString,
} from '../../domain/money';
import { ActivePlatformError, type ActivePlatformErrorKind } from './errors';
import {
  activePlatformErrorBodySchema,
  type ActivePlatformPayment,
  activePlatformPaymentListSchema,
  activePlatformPaymentSchema,
} from './schemas';

/** The subset of a pino logger we use; a pino `Logger` satisfies it. */
export interface SettlementLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ActivePlatformClientOptions {
  /** e.g. `https://billing.example.com` (no trailing `/api`). */
  baseUrl: string;
  /** The manager's API token. Secret. */
  apiToken: string;
  /** Per-request timeout; default 15 000 ms. */
  timeoutMs?: number;
  logger?: SettlementLogger;
}

export interface CreateActivePlatformPaymentInput {
  accountId: number;
  /** Integer minor units; must be > 0 (use `reversePayment` for credits). */
  amountMinor: number;
  /** ISO 4217 code of the account's currency: decides how many decimals `total` carries. */
  currency: string;
  /** Free text; the engine puts its idempotency key here. */
  comment: string;
}

export interface ReverseActivePlatformPaymentInput {
  paymentId: number;
  /** Currency of the original payment (decides the decimals of the credit's `total`). */
  currency: string;
  /** Comment (idempotency key) of the credit payment, if one has to be created. Must differ from the original's. */
  comment: string;
  /** Partial reversal in minor units; default: the original total. Ignored when the payment can be cancelled. */
  amountMinor?: number;
}

export type ActivePlatformReversal =
  /** The payment was still `waiting for payment`: cancelled, nothing was ever settled. */
  | { kind: 'cancelled'; payment: ActivePlatformPayment }
  /** It was already `cancelled` (e.g. a retried reversal): nothing to do. */
  | { kind: 'alreadyCancelled'; payment: ActivePlatformPayment }
  /** It was settled: a credit payment with a negative total now offsets it (found or created). */
  | { kind: 'credited'; payment: ActivePlatformPayment; credit: ActivePlatformPayment; created: boolean };

const API = '/api/vendor/v1';
const DEFAULT_TIMEOUT_MS = 15_000;
const REDACTED = '[REDACTED]';

/** Convert a payment's float `total` back to exact minor units. */
export function paymentTotalMinor(payment: Pick<ActivePlatformPayment, 'total'>, currency: string): number {
  return majorToMinor(payment.total, currency);
}

interface RequestSpec<S extends z.ZodType> {
  operation: string;
  method: 'GET' | 'POST';
  path: string;
  params?: Record<string, string | number>;
  /** A complete JSON document, sent as is. */
  rawBody?: string;
  schema: S;
  write: boolean;
}

export class ActivePlatformClient {
  private readonly http: AxiosInstance;
  private readonly apiToken: string;
  private readonly timeoutMs: number;
  private readonly logger: SettlementLogger | undefined;

  constructor(options: ActivePlatformClientOptions) {
    if (!options.apiToken) throw new Error('ActivePlatformClient: apiToken is required');
    if (!options.baseUrl) throw new Error('ActivePlatformClient: baseUrl is required');
    this.apiToken = options.apiToken;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = options.logger;
    this.http = axios.create({
      baseURL: options.baseUrl.replace(/\/+$/, ''),
      timeout: this.timeoutMs,
      maxRedirects: 0,
      // Every status reaches our own classification; axios only throws for transport failures.
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: true },
      headers: { Accept: 'application/json' },
    });
  }

  /** `POST /payments.json`: a new payment in status `waiting for payment`. */
  async createPayment(input: CreateActivePlatformPaymentInput): Promise<ActivePlatformPayment> {
    assertPositiveMinorAmount(input.amountMinor, 'amountMinor');
    return this.postPayment('createPayment', input.accountId, input.amountMinor, input.currency, input.comment);
  }

  /** `POST /payments/{id}/complete.json` (seed 003): `waiting for payment` -> `completed`; else InvalidStatus. */
  async completePayment(id: number, paymentMethodId: number): Promise<ActivePlatformPayment> {
    assertPositiveInt(id, 'id');
    assertPositiveInt(paymentMethodId, 'paymentMethodId');
    return this.request({
      operation: 'completePayment',
      method: 'POST',
      path: `${API}/payments/${id}/complete.json`,
      rawBody: JSON.stringify({ payment_method_id: paymentMethodId }),
      schema: activePlatformPaymentSchema,
      write: true,
    });
  }

  /** INFERRED endpoint `GET /payments/{id}.json`. Throws NotFound for an unknown id. */
  async getPayment(id: number): Promise<ActivePlatformPayment> {
    assertPositiveInt(id, 'id');
    return this.request({
      operation: 'getPayment',
      method: 'GET',
      path: `${API}/payments/${id}.json`,
      schema: activePlatformPaymentSchema,
      write: false,
    });
  }

  /** INFERRED endpoint `GET /payments.json?account_id=`: the account's payments. */
  async listPayments(accountId: number): Promise<ActivePlatformPayment[]> {
    assertPositiveInt(accountId, 'accountId');
    const body = await this.request({
      operation: 'listPayments',
      method: 'GET',
      path: `${API}/payments.json`,
      params: { account_id: accountId },
      schema: activePlatformPaymentListSchema,
      write: false,
    });
    if (Array.isArray(body)) return body;
    return 'payments' in body ? body.payments : body.data;
  }

  /**
   * Check before writing: the payment of `accountId` whose comment equals `comment` (the engine's idempotency key),
   * or null. If several match (which our own writes never cause) the oldest, lowest id, wins.
   */
  async findPaymentByComment(accountId: number, comment: string): Promise<ActivePlatformPayment | null> {
    const payments = await this.listPayments(accountId);
    const matches = payments.filter((p) => p.comment === comment).sort((a, b) => a.id - b.id);
    return matches[0] ?? null;
  }

  /** INFERRED endpoint `POST /payments/{id}/cancel.json`: `waiting for payment` -> `cancelled`. */
  async cancelPayment(id: number): Promise<ActivePlatformPayment> {
    assertPositiveInt(id, 'id');
    return this.request({
      operation: 'cancelPayment',
      method: 'POST',
      path: `${API}/payments/${id}/cancel.json`,
      rawBody: '{}',
      schema: activePlatformPaymentSchema,
      write: true,
    });
  }

  /**
   * Reverse a payment. ActivePlatform v1 documents no refund, so we use what its statuses allow:
   * - `waiting for payment`: nothing was settled; cancel it (inferred cancel endpoint).
   * - `cancelled`: already reversed; no write.
   * - `completed`, `receipt creating`, `receipt sent`: settled and possibly receipted, so it must not be rewritten;
   *   create an offsetting credit payment with a negative `total` and `comment` = `input.comment` (which should
   *   reference the original, e.g. `refund:{cycleId}:of:{paymentId}`). Idempotent: an existing payment of the same
   *   account with that comment is returned instead of creating a second one.
   * - any other status: InvalidStatus.
   * Negative totals on v1 are an assumption to verify with the tenant.
   */
  async reversePayment(input: ReverseActivePlatformPaymentInput): Promise<ActivePlatformReversal> {
    const payment = await this.getPayment(input.paymentId);
    if (payment.status === 'cancelled') return { kind: 'alreadyCancelled', payment };
    if (payment.status === 'waiting for payment') {
      return { kind: 'cancelled', payment: await this.cancelPayment(payment.id) };
    }
    if (!['completed', 'receipt creating', 'receipt sent'].includes(payment.status)) {
      throw new ActivePlatformError({
        kind: 'InvalidStatus',
        message: `ActivePlatform reversePayment: payment ${payment.id} has status "${payment.status}", which cannot be reversed`,
        operation: 'reversePayment',
        method: 'POST',
        path: `${API}/payments/${payment.id}`,
      });
    }
    if (payment.comment === input.comment) {
      throw new Error('ActivePlatform reversePayment: comment must differ from the original payment comment');
    }
    const originalMinor = paymentTotalMinor(payment, input.currency);
    const amountMinor = input.amountMinor ?? originalMinor;
    assertPositiveMinorAmount(amountMinor, 'amountMinor');
    if (amountMinor > originalMinor) {
      throw new Error(
        `ActivePlatform reversePayment: amountMinor ${amountMinor} exceeds the original total ${originalMinor} of payment ${payment.id}`,
      );
    }
    const existing = await this.findPaymentByComment(payment.account_id, input.comment);
    if (existing) return { kind: 'credited', payment, credit: existing, created: false };
    const credit = await this.postPayment(
      'reversePayment',
      payment.account_id,
      -amountMinor,
      input.currency,
      input.comment,
    );
    return { kind: 'credited', payment, credit, created: true };
  }

  private async postPayment(
    operation: string,
    accountId: number,
    amountMinor: number,
    currency: string,
    comment: string,
  ): Promise<ActivePlatformPayment> {
    assertPositiveInt(accountId, 'accountId');
    assertDoubleExactAmount(amountMinor, 'amountMinor');
    if (typeof comment !== 'string') throw new Error('ActivePlatform: comment must be a string');
    // The total is spliced in as a literal: "19.99" goes on the wire as 19.99, never via a float we computed.
    const total = minorToMajorString(amountMinor, currency);
    const rawBody = `{"account_id":${accountId},"total":${total},"comment":${JSON.stringify(comment)}}`;
    return this.request({
      operation,
      method: 'POST',
      path: `${API}/payments.json`,
      rawBody,
      schema: activePlatformPaymentSchema,
      write: true,
    });
  }

  private async request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>> {
    const started = Date.now();
    const logBase = { integration: 'activeplatform', operation: spec.operation, method: spec.method, path: spec.path };
    let response: AxiosResponse<unknown>;
    try {
      response = await this.http.request<unknown>({
        method: spec.method,
        url: spec.path,
        params: { ...spec.params, api_token: this.apiToken },
        ...(spec.rawBody === undefined
          ? {}
          : {
              data: spec.rawBody,
              headers: { 'Content-Type': 'application/json' },
              // Send the string untouched (axios would otherwise re-serialize).
              transformRequest: [(data: unknown) => data],
            }),
      });
    } catch (err) {
      const error = this.transportError(spec, err);
      this.logger?.warn({ ...logBase, kind: error.kind, durationMs: Date.now() - started }, error.message);
      throw error;
    }
    const status = response.status;
    const durationMs = Date.now() - started;
    if (status >= 200 && status < 300) {
      const parsed = spec.schema.safeParse(response.data);
      if (!parsed.success) {
        const error = new ActivePlatformError({
          kind: 'Unexpected',
          message: this.scrub(
            `ActivePlatform ${spec.operation}: HTTP ${status} with an unexpected body: ${parsed.error.issues
              .slice(0, 3)
              .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
              .join('; ')}`,
          ),
          operation: spec.operation,
          method: spec.method,
          path: spec.path,
          httpStatus: status,
          outcomeUnknown: spec.write,
        });
        this.logger?.error({ ...logBase, status, durationMs, kind: error.kind }, error.message);
        throw error;
      }
      this.logger?.debug({ ...logBase, status, durationMs }, `ActivePlatform ${spec.operation} succeeded`);
      return parsed.data;
    }
    const error = this.httpError(spec, response);
    this.logger?.warn({ ...logBase, status, durationMs, kind: error.kind, code: error.code }, error.message);
    throw error;
  }

  private httpError(spec: RequestSpec<z.ZodType>, response: AxiosResponse<unknown>): ActivePlatformError {
    const status = response.status;
    const body = activePlatformErrorBodySchema.safeParse(response.data);
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
    } else if (typeof response.data === 'string' && response.data.length > 0) {
      detail = response.data.slice(0, 200);
    }
    let kind: ActivePlatformErrorKind;
    if (status === 401 || status === 403) kind = 'Unauthorized';
    else if (status === 404) kind = 'NotFound';
    else if (status === 409) kind = 'InvalidStatus';
    else if (status === 400 || status === 422) {
      kind = code === 'invalid_status' ? 'InvalidStatus' : 'Validation';
    } else if (status === 429) kind = 'RateLimited';
    else if (status === 408 || status >= 500) kind = 'Transient';
    else kind = 'Unexpected';
    const retryAfter = Number(response.headers['retry-after']);
    const message = this.scrub(
      `ActivePlatform ${spec.operation} ${spec.method} ${spec.path}: HTTP ${status}` +
        (code ? ` ${code}` : '') +
        (detail ? `: ${detail.slice(0, 300)}` : ''),
    );
    return new ActivePlatformError({
      kind,
      message,
      operation: spec.operation,
      method: spec.method,
      path: spec.path,
      httpStatus: status,
      code: code === undefined ? undefined : this.scrub(code),
      outcomeUnknown: spec.write && kind === 'Transient',
      retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
    });
  }

  private transportError(spec: RequestSpec<z.ZodType>, err: unknown): ActivePlatformError {
    const code = axios.isAxiosError(err) ? err.code : undefined;
    const timedOut = code === 'ETIMEDOUT' || code === 'ECONNABORTED';
    const reason = timedOut
      ? `no response within ${this.timeoutMs} ms`
      : `network error${code ? ` ${code}` : ''}${err instanceof Error && !axios.isAxiosError(err) ? `: ${err.message}` : ''}`;
    // A refused connection means the request never reached the server; anything else on a write is ambiguous.
    const outcomeUnknown = spec.write && code !== 'ECONNREFUSED';
    return new ActivePlatformError({
      kind: 'Transient',
      message: this.scrub(
        `ActivePlatform ${spec.operation} ${spec.method} ${spec.path}: ${reason}` +
          (outcomeUnknown ? ' (the write may have been applied: check before retrying)' : ''),
      ),
      operation: spec.operation,
      method: spec.method,
      path: spec.path,
      code,
      outcomeUnknown,
    });
  }

  /** Removes `api_token=...` and any literal occurrence of the token from text we keep. */
  private scrub(text: string): string {
    let out = text.replace(/api_token=[^&\s"'#]*/gi, `api_token=${REDACTED}`);
    if (this.apiToken.length >= 4) out = out.split(this.apiToken).join(REDACTED);
    return out;
  }
}

function assertPositiveInt(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new Error(
      `ActivePlatform: ${name} must be a positive integer, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
}
