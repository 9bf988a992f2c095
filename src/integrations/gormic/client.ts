/**
 * Gormic Order Management & POS API client, payments (seed 004, `reference/settlement-apis.md`).
 *
 * - Auth: `api-key` (a Service User key; secret) and `organization-id` headers. The key never appears in what we log
 *   or throw: errors are rebuilt from scrubbed text and never carry the axios error (whose config holds the headers).
 * - Bodies are `{"params":{…}}`; answers are the envelope `{app, service, warnings[], instanceId, requestId, data}`;
 *   functional errors are HTTP 400 `{"error":{"code":…}}`.
 * - Money: Gormic does not document the units of `amount`. Callers always pass integer minor units plus the order's
 *   currency; `amountFormat` (default `'major'`) decides what goes on the wire: `'major'` sends the exact major-unit
 *   decimal (19.99) as a JSON number literal written from `minorToMajorString` (no float arithmetic on our side),
 *   `'minor'` sends the integer (1999). Confirm the units with the merchant's Gormic tenant and configure accordingly.
 * - Idempotency: Gormic has no idempotency key. The engine keeps its own mapping QorePay purchase id -> Gormic payment
 *   uid, sets `transactionRef` to the purchase id, and can check with `findPaymentsByTransactionRef` (an INFERRED
 *   `GET /v1/om/payments?orderId=&transactionRef=`, not in the seed; verify before relying on it in production).
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { type z } from 'zod';
import {
  assertDoubleExactAmount,
  assertPositiveMinorAmount,
  majorToMinor,
  minorToMajorString,
} from '../../domain/money';
import { GORMIC_BUSINESS_CODES, GORMIC_VALIDATION_CODES, GormicError, type GormicErrorKind } from './errors';
import {
  gormicCreatedSchema,
  gormicErrorBodySchema,
  type GormicItemsResult,
  gormicItemsSchema,
  type GormicPaymentStatus,
  type GormicPaymentType,
  gormicSuccessSchema,
} from './schemas';

/** The subset of a pino logger we use; a pino `Logger` satisfies it. */
export interface GormicLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type GormicAmountFormat = 'major' | 'minor';

export interface GormicClientOptions {
  baseUrl: string;
  /** Service User key. Secret. */
  apiKey: string;
  /** Organization Key (Console -> Settings -> General). */
  organizationId: string;
  /** Units of `amount` on the wire (undocumented by Gormic): `'major'` (default) or `'minor'`. */
  amountFormat?: GormicAmountFormat;
  /** Per-request timeout; default 15 000 ms. */
  timeoutMs?: number;
  logger?: GormicLogger;
}

interface CommonPaymentFields {
  methodId?: string;
  status?: GormicPaymentStatus;
  custom?: boolean;
  customerUid?: string;
  sourcePaymentId?: string;
  /** The engine sets the QorePay purchase id here. */
  transactionRef?: string;
  attrs?: Record<string, unknown>;
  note?: string;
}

export interface CreateGormicPaymentParams extends CommonPaymentFields {
  orderId: string;
  type: GormicPaymentType;
  /** Integer minor units, > 0. */
  amountMinor: number;
  /** ISO 4217 currency of the order (decides the decimals in `'major'` format). */
  currency: string;
  invoiceId?: string;
}

export interface UpdateGormicPaymentParams extends CommonPaymentFields {
  orderId?: string;
  /** A new amount in minor units (requires `currency`). */
  amountMinor?: number;
  currency?: string;
  /** Gormic's flag for correcting an already completed payment. */
  correction?: boolean;
}

export interface ConfirmGormicPaymentParams {
  orderId?: string;
  customerUid?: string;
  transactionRef?: string;
  attrs?: Record<string, unknown>;
}

export interface CreateGormicRefundParams {
  orderId: string;
  amountMinor: number;
  currency: string;
  /** Gormic uid of the receipt payment being refunded. */
  sourcePaymentId: string;
  transactionRef?: string;
  note?: string;
  methodId?: string;
  attrs?: Record<string, unknown>;
}

const PAYMENTS = '/v1/om/payments';
const DEFAULT_TIMEOUT_MS = 15_000;
const REDACTED = '[REDACTED]';
const BUSINESS = new Set<string>(GORMIC_BUSINESS_CODES);
const VALIDATION = new Set<string>(GORMIC_VALIDATION_CODES);

interface RequestSpec<S extends z.ZodType> {
  operation: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  rawBody?: string;
  schema: S;
  write: boolean;
}

export class GormicClient {
  readonly amountFormat: GormicAmountFormat;
  private readonly http: AxiosInstance;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly logger: GormicLogger | undefined;

  constructor(options: GormicClientOptions) {
    if (!options.baseUrl) throw new Error('GormicClient: baseUrl is required');
    if (!options.apiKey) throw new Error('GormicClient: apiKey is required');
    if (!options.organizationId) throw new Error('GormicClient: organizationId is required');
    this.apiKey = options.apiKey;
    this.amountFormat = options.amountFormat ?? 'major';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = options.logger;
    this.http = axios.create({
      baseURL: options.baseUrl.replace(/\/+$/, ''),
      timeout: this.timeoutMs,
      maxRedirects: 0,
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: true },
      headers: { Accept: 'application/json', 'api-key': options.apiKey, 'organization-id': options.organizationId },
    });
  }

  /** The wire literal for an amount in minor units, per `amountFormat`. */
  amountLiteral(amountMinor: number, currency: string): string {
    assertDoubleExactAmount(amountMinor, 'amountMinor');
    return this.amountFormat === 'major' ? minorToMajorString(amountMinor, currency) : String(amountMinor);
  }

  /** Exact minor units for an `amount` read back from Gormic, per `amountFormat`. */
  amountToMinor(amount: number, currency: string): number {
    if (this.amountFormat === 'major') return majorToMinor(amount, currency);
    if (!Number.isSafeInteger(amount)) {
      throw new Error(`Gormic amount ${amount} is not an integer number of minor units (amountFormat 'minor')`);
    }
    return amount;
  }

  /** `POST /v1/om/payments` -> the new payment's uid. */
  async createPayment(params: CreateGormicPaymentParams): Promise<{ id: string }> {
    assertPositiveMinorAmount(params.amountMinor, 'amountMinor');
    const { amountMinor, currency, ...rest } = params;
    const body = paramsBody(rest, this.amountLiteral(amountMinor, currency));
    const res = await this.request({
      operation: 'createPayment',
      method: 'POST',
      path: PAYMENTS,
      rawBody: body,
      schema: gormicCreatedSchema,
      write: true,
    });
    return { id: res.data.id };
  }

  /** A refund (`type: 'refund'`, default `status: 'complete'`) linked to the receipt by `sourcePaymentId`. */
  async createRefundPayment(params: CreateGormicRefundParams): Promise<{ id: string }> {
    if (!params.sourcePaymentId) throw new Error('Gormic createRefundPayment: sourcePaymentId is required');
    return this.createPayment({ ...params, type: 'refund', status: 'complete' });
  }

  /** `PATCH /v1/om/payments/{uid}/confirm`: pending -> complete. Returns the order's payments and methods. */
  async confirmPayment(uid: string, params: ConfirmGormicPaymentParams = {}): Promise<GormicItemsResult> {
    const path = `${PAYMENTS}/${encodeUid(uid)}/confirm`;
    const res = await this.request({
      operation: 'confirmPayment',
      method: 'PATCH',
      path,
      rawBody: paramsBody({ id: uid, ...params }),
      schema: gormicItemsSchema,
      write: true,
    });
    return { items: res.data.items, paymentMethods: res.data.paymentMethods };
  }

  /** `PATCH /v1/om/payments/{uid}` (no `type` or `invoiceId`). */
  async updatePayment(uid: string, params: UpdateGormicPaymentParams): Promise<{ success: boolean }> {
    const { amountMinor, currency, ...rest } = params;
    let literal: string | undefined;
    if (amountMinor !== undefined) {
      if (currency === undefined) throw new Error('Gormic updatePayment: currency is required with amountMinor');
      assertPositiveMinorAmount(amountMinor, 'amountMinor');
      literal = this.amountLiteral(amountMinor, currency);
    }
    const res = await this.request({
      operation: 'updatePayment',
      method: 'PATCH',
      path: `${PAYMENTS}/${encodeUid(uid)}`,
      rawBody: paramsBody({ id: uid, ...rest }, literal),
      schema: gormicSuccessSchema,
      write: true,
    });
    return { success: res.data.success };
  }

  /** `DELETE /v1/om/payments/{uid}`. Returns the order's remaining payments and methods. */
  async deletePayment(uid: string): Promise<GormicItemsResult> {
    const res = await this.request({
      operation: 'deletePayment',
      method: 'DELETE',
      path: `${PAYMENTS}/${encodeUid(uid)}`,
      schema: gormicItemsSchema,
      write: true,
    });
    return { items: res.data.items, paymentMethods: res.data.paymentMethods };
  }

  /**
   * INFERRED (not in seed 004): `GET /v1/om/payments?orderId=&transactionRef=`. The order's payments carrying that
   * transactionRef; an empty array when none. Secondary to the engine's own purchase id -> uid mapping.
   */
  async findPaymentsByTransactionRef(orderId: string, transactionRef: string): Promise<GormicItemsResult['items']> {
    const res = await this.request({
      operation: 'findPaymentsByTransactionRef',
      method: 'GET',
      path: PAYMENTS,
      query: { orderId, transactionRef },
      schema: gormicItemsSchema,
      write: false,
    });
    return res.data.items.filter((item) => item.transactionRef === transactionRef);
  }

  private async request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>> {
    const started = Date.now();
    const logBase = { integration: 'gormic', operation: spec.operation, method: spec.method, path: spec.path };
    let response: AxiosResponse<unknown>;
    try {
      response = await this.http.request<unknown>({
        method: spec.method,
        url: spec.path,
        ...(spec.query ? { params: spec.query } : {}),
        ...(spec.rawBody === undefined
          ? {}
          : {
              data: spec.rawBody,
              headers: { 'Content-Type': 'application/json' },
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
        const error = new GormicError({
          kind: 'Unexpected',
          message: this.scrub(
            `Gormic ${spec.operation}: HTTP ${status} with an unexpected body: ${parsed.error.issues
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
      const warnings = (parsed.data as { warnings?: unknown[] }).warnings;
      if (warnings && warnings.length > 0) {
        this.logger?.warn({ ...logBase, status, warnings: warnings.length }, `Gormic ${spec.operation} warnings`);
      }
      this.logger?.debug({ ...logBase, status, durationMs }, `Gormic ${spec.operation} succeeded`);
      return parsed.data;
    }
    const error = this.httpError(spec, response);
    this.logger?.warn({ ...logBase, status, durationMs, kind: error.kind, code: error.code }, error.message);
    throw error;
  }

  private httpError(spec: RequestSpec<z.ZodType>, response: AxiosResponse<unknown>): GormicError {
    const status = response.status;
    const body = gormicErrorBodySchema.safeParse(response.data);
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
    const requestId = (response.data as { requestId?: unknown } | null)?.requestId;
    return new GormicError({
      kind,
      message: this.scrub(
        `Gormic ${spec.operation} ${spec.method} ${spec.path}: HTTP ${status}` +
          (code ? ` ${code}` : '') +
          (detail ? `: ${detail.slice(0, 300)}` : ''),
      ),
      operation: spec.operation,
      method: spec.method,
      path: spec.path,
      httpStatus: status,
      code: code === undefined ? undefined : this.scrub(code),
      outcomeUnknown: spec.write && kind === 'Transient',
      requestId: typeof requestId === 'string' ? this.scrub(requestId) : undefined,
    });
  }

  private transportError(spec: RequestSpec<z.ZodType>, err: unknown): GormicError {
    const code = axios.isAxiosError(err) ? err.code : undefined;
    const timedOut = code === 'ETIMEDOUT' || code === 'ECONNABORTED';
    const reason = timedOut
      ? `no response within ${this.timeoutMs} ms`
      : `network error${code ? ` ${code}` : ''}${err instanceof Error && !axios.isAxiosError(err) ? `: ${err.message}` : ''}`;
    const outcomeUnknown = spec.write && code !== 'ECONNREFUSED';
    return new GormicError({
      kind: 'Transient',
      message: this.scrub(
        `Gormic ${spec.operation} ${spec.method} ${spec.path}: ${reason}` +
          (outcomeUnknown ? ' (the write may have been applied: check before retrying)' : ''),
      ),
      operation: spec.operation,
      method: spec.method,
      path: spec.path,
      code,
      outcomeUnknown,
    });
  }

  private scrub(text: string): string {
    let out = text.replace(/api-key["']?\s*[:=]\s*["']?[^\s"',}]*/gi, `api-key: ${REDACTED}`);
    if (this.apiKey.length >= 4) out = out.split(this.apiKey).join(REDACTED);
    return out;
  }
}

function encodeUid(uid: string): string {
  if (typeof uid !== 'string' || uid.length === 0) throw new Error('Gormic: payment uid must be a non-empty string');
  return encodeURIComponent(uid);
}

/** `{"params":{…}}` with undefined fields dropped and `amount` spliced in as an exact number literal. */
function paramsBody(params: Record<string, unknown>, amountLiteral?: string): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || key === 'amount') continue;
    parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  if (amountLiteral !== undefined) parts.push(`"amount":${amountLiteral}`);
  return `{"params":{${parts.join(',')}}}`;
}
