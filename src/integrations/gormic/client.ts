/**
 * Gormic Order Management & POS API client, payments (seed 004, `reference/settlement-apis.md`).
 *
 * - Auth: `api-key` (a Service User key; secret) and `organization-id` headers, added per request by the pipeline's
 *   `authenticate` hook; the redaction hook scrubs the key from everything logged or thrown.
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
import type { z } from 'zod';
import {
  assertDoubleExactAmount,
  assertPositiveMinorAmount,
  majorToMinor,
  minorToMajorString,
} from '../../domain/money';
import { describedApi, type CallOptions, type HttpPipeline, type HttpRequest, type Logger } from '../http';
import { classifyGormicAnswer, GORMIC_KIND_TRAITS } from './errors';
import {
  gormicCreatedSchema,
  type GormicItemsResult,
  gormicItemsSchema,
  type GormicPaymentStatus,
  type GormicPaymentType,
  gormicSuccessSchema,
} from './schemas';

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
  logger?: Logger;
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

export class GormicClient {
  readonly amountFormat: GormicAmountFormat;
  private readonly http: HttpPipeline;
  private readonly logger: Logger | undefined;

  constructor(options: GormicClientOptions) {
    if (!options.baseUrl) throw new Error('GormicClient: baseUrl is required');
    if (!options.apiKey) throw new Error('GormicClient: apiKey is required');
    if (!options.organizationId) throw new Error('GormicClient: organizationId is required');
    const { apiKey, organizationId } = options;
    this.amountFormat = options.amountFormat ?? 'major';
    this.logger = options.logger;
    this.http = describedApi({
      source: 'gormic',
      label: 'Gormic',
      connection: options,
      secrets: { secrets: [apiKey], patterns: [[/api-key["']?\s*[:=]\s*["']?[^\s"',}]*/gi, 'api-key: [REDACTED]']] },
      authenticate: ({ headers }) => Object.assign(headers, { 'api-key': apiKey, 'organization-id': organizationId }),
      traits: GORMIC_KIND_TRAITS,
      classify: classifyGormicAnswer,
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
  async createPayment(params: CreateGormicPaymentParams, options: CallOptions = {}): Promise<{ id: string }> {
    assertPositiveMinorAmount(params.amountMinor, 'amountMinor');
    const { amountMinor, currency, ...rest } = params;
    const body = paramsBody(rest, this.amountLiteral(amountMinor, currency));
    const res = await this.request(write('createPayment', 'POST', PAYMENTS, body, options), gormicCreatedSchema);
    return { id: res.data.id };
  }

  /** A refund (`type: 'refund'`, default `status: 'complete'`) linked to the receipt by `sourcePaymentId`. */
  async createRefundPayment(params: CreateGormicRefundParams, options: CallOptions = {}): Promise<{ id: string }> {
    if (!params.sourcePaymentId) throw new Error('Gormic createRefundPayment: sourcePaymentId is required');
    return this.createPayment({ ...params, type: 'refund', status: 'complete' }, options);
  }

  /** `PATCH /v1/om/payments/{uid}/confirm`: pending -> complete. Returns the order's payments and methods. */
  async confirmPayment(
    uid: string,
    params: ConfirmGormicPaymentParams = {},
    options: CallOptions = {},
  ): Promise<GormicItemsResult> {
    const path = `${PAYMENTS}/${encodeUid(uid)}/confirm`;
    const res = await this.request(
      write('confirmPayment', 'PATCH', path, paramsBody({ id: uid, ...params }), options),
      gormicItemsSchema,
    );
    return { items: res.data.items, paymentMethods: res.data.paymentMethods };
  }

  /** `PATCH /v1/om/payments/{uid}` (no `type` or `invoiceId`). */
  async updatePayment(
    uid: string,
    params: UpdateGormicPaymentParams,
    options: CallOptions = {},
  ): Promise<{ success: boolean }> {
    const { amountMinor, currency, ...rest } = params;
    let literal: string | undefined;
    if (amountMinor !== undefined) {
      if (currency === undefined) throw new Error('Gormic updatePayment: currency is required with amountMinor');
      assertPositiveMinorAmount(amountMinor, 'amountMinor');
      literal = this.amountLiteral(amountMinor, currency);
    }
    const path = `${PAYMENTS}/${encodeUid(uid)}`;
    const res = await this.request(
      write('updatePayment', 'PATCH', path, paramsBody({ id: uid, ...rest }, literal), options),
      gormicSuccessSchema,
    );
    return { success: res.data.success };
  }

  /** `DELETE /v1/om/payments/{uid}`. Returns the order's remaining payments and methods. */
  async deletePayment(uid: string, options: CallOptions = {}): Promise<GormicItemsResult> {
    const path = `${PAYMENTS}/${encodeUid(uid)}`;
    const res = await this.request(write('deletePayment', 'DELETE', path, undefined, options), gormicItemsSchema);
    return { items: res.data.items, paymentMethods: res.data.paymentMethods };
  }

  /**
   * INFERRED (not in seed 004): `GET /v1/om/payments?orderId=&transactionRef=`. The order's payments carrying that
   * transactionRef; an empty array when none. Secondary to the engine's own purchase id -> uid mapping.
   */
  async findPaymentsByTransactionRef(
    orderId: string,
    transactionRef: string,
    options: CallOptions = {},
  ): Promise<GormicItemsResult['items']> {
    const res = await this.request(
      {
        operation: 'findPaymentsByTransactionRef',
        method: 'GET',
        path: PAYMENTS,
        query: { orderId, transactionRef },
        write: false,
        signal: options.signal,
      },
      gormicItemsSchema,
    );
    return res.data.items.filter((item) => item.transactionRef === transactionRef);
  }

  /** Sends through the pipeline; Gormic's envelope may carry warnings about a successful call. */
  private async request<S extends z.ZodType>(req: HttpRequest, schema: S): Promise<z.output<S>> {
    const body = await this.http.request(req, schema);
    const warnings = (body as { warnings?: unknown[] }).warnings;
    if (warnings && warnings.length > 0) {
      this.logger?.warn(
        { integration: 'gormic', operation: req.operation, warnings: warnings.length },
        `Gormic ${req.operation} warnings`,
      );
    }
    return body;
  }
}

function write(
  operation: string,
  method: 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body: string | undefined,
  options: CallOptions,
): HttpRequest {
  return { operation, method, path, write: true, signal: options.signal, ...(body === undefined ? {} : { body }) };
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
