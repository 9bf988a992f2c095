/**
 * ActivePlatform v1 vendor API client (seed 003, `reference/settlement-apis.md`).
 *
 * - Auth: the manager's `api_token` travels in the query string (v1 has no header auth). The pipeline's
 *   `authenticate` hook adds it to each request, and the redaction hook scrubs it from everything logged or thrown.
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
import {
  assertDoubleExactAmount,
  assertPositiveMinorAmount,
  majorToMinor,
  minorToMajorString,
} from '../../domain/money';
import { describedApi, type CallOptions, type HttpPipeline, type HttpRequest, type Logger } from '../http';
import { ACTIVEPLATFORM_KIND_TRAITS, activePlatformError, classifyActivePlatformAnswer } from './errors';
import { type ActivePlatformPayment, activePlatformPaymentListSchema, activePlatformPaymentSchema } from './schemas';

export interface ActivePlatformClientOptions {
  /** e.g. `https://billing.example.com` (no trailing `/api`). */
  baseUrl: string;
  /** The manager's API token. Secret. */
  apiToken: string;
  /** Per-request timeout; default 15 000 ms. */
  timeoutMs?: number;
  logger?: Logger;
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

/** Convert a payment's float `total` back to exact minor units. */
export function paymentTotalMinor(payment: Pick<ActivePlatformPayment, 'total'>, currency: string): number {
  return majorToMinor(payment.total, currency);
}

export class ActivePlatformClient {
  private readonly http: HttpPipeline;

  constructor(options: ActivePlatformClientOptions) {
    if (!options.apiToken) throw new Error('ActivePlatformClient: apiToken is required');
    if (!options.baseUrl) throw new Error('ActivePlatformClient: baseUrl is required');
    const apiToken = options.apiToken;
    this.http = describedApi({
      source: 'activeplatform',
      label: 'ActivePlatform',
      connection: options,
      // The token travels as a query parameter: scrubbed both as `api_token=...` and as a literal.
      secrets: { secrets: [apiToken], patterns: [[/api_token=[^&\s"'#]*/gi, 'api_token=[REDACTED]']] },
      authenticate: ({ query }) => void (query.api_token = apiToken),
      traits: ACTIVEPLATFORM_KIND_TRAITS,
      classify: classifyActivePlatformAnswer,
    });
  }

  /** `POST /payments.json`: a new payment in status `waiting for payment`. */
  async createPayment(
    input: CreateActivePlatformPaymentInput,
    options: CallOptions = {},
  ): Promise<ActivePlatformPayment> {
    assertPositiveMinorAmount(input.amountMinor, 'amountMinor');
    return this.postPayment(
      'createPayment',
      input.accountId,
      input.amountMinor,
      input.currency,
      input.comment,
      options,
    );
  }

  /** `POST /payments/{id}/complete.json` (seed 003): `waiting for payment` -> `completed`; else InvalidStatus. */
  async completePayment(
    id: number,
    paymentMethodId: number,
    options: CallOptions = {},
  ): Promise<ActivePlatformPayment> {
    assertPositiveInt(id, 'id');
    assertPositiveInt(paymentMethodId, 'paymentMethodId');
    return this.http.request(
      this.write(
        'completePayment',
        `${API}/payments/${id}/complete.json`,
        JSON.stringify({ payment_method_id: paymentMethodId }),
        options,
      ),
      activePlatformPaymentSchema,
    );
  }

  /** INFERRED endpoint `GET /payments/{id}.json`. Throws NotFound for an unknown id. */
  async getPayment(id: number, options: CallOptions = {}): Promise<ActivePlatformPayment> {
    assertPositiveInt(id, 'id');
    return this.http.request(
      {
        operation: 'getPayment',
        method: 'GET',
        path: `${API}/payments/${id}.json`,
        write: false,
        signal: options.signal,
      },
      activePlatformPaymentSchema,
    );
  }

  /** INFERRED endpoint `GET /payments.json?account_id=`: the account's payments. */
  async listPayments(accountId: number, options: CallOptions = {}): Promise<ActivePlatformPayment[]> {
    assertPositiveInt(accountId, 'accountId');
    const body = await this.http.request(
      {
        operation: 'listPayments',
        method: 'GET',
        path: `${API}/payments.json`,
        query: { account_id: accountId },
        write: false,
        signal: options.signal,
      },
      activePlatformPaymentListSchema,
    );
    if (Array.isArray(body)) return body;
    return 'payments' in body ? body.payments : body.data;
  }

  /**
   * Check before writing: the payment of `accountId` whose comment equals `comment` (the engine's idempotency key),
   * or null. If several match (which our own writes never cause) the oldest, lowest id, wins.
   */
  async findPaymentByComment(
    accountId: number,
    comment: string,
    options: CallOptions = {},
  ): Promise<ActivePlatformPayment | null> {
    const payments = await this.listPayments(accountId, options);
    const matches = payments.filter((p) => p.comment === comment).sort((a, b) => a.id - b.id);
    return matches[0] ?? null;
  }

  /** INFERRED endpoint `POST /payments/{id}/cancel.json`: `waiting for payment` -> `cancelled`. */
  async cancelPayment(id: number, options: CallOptions = {}): Promise<ActivePlatformPayment> {
    assertPositiveInt(id, 'id');
    return this.http.request(
      this.write('cancelPayment', `${API}/payments/${id}/cancel.json`, '{}', options),
      activePlatformPaymentSchema,
    );
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
  async reversePayment(
    input: ReverseActivePlatformPaymentInput,
    options: CallOptions = {},
  ): Promise<ActivePlatformReversal> {
    const payment = await this.getPayment(input.paymentId, options);
    if (payment.status === 'cancelled') return { kind: 'alreadyCancelled', payment };
    if (payment.status === 'waiting for payment') {
      return { kind: 'cancelled', payment: await this.cancelPayment(payment.id, options) };
    }
    if (!['completed', 'receipt creating', 'receipt sent'].includes(payment.status)) {
      throw activePlatformError(
        'InvalidStatus',
        `ActivePlatform reversePayment: payment ${payment.id} has status "${payment.status}", which cannot be reversed`,
        { operation: 'reversePayment', method: 'POST', path: `${API}/payments/${payment.id}` },
      );
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
    const existing = await this.findPaymentByComment(payment.account_id, input.comment, options);
    if (existing) return { kind: 'credited', payment, credit: existing, created: false };
    const credit = await this.postPayment(
      'reversePayment',
      payment.account_id,
      -amountMinor,
      input.currency,
      input.comment,
      options,
    );
    return { kind: 'credited', payment, credit, created: true };
  }

  private async postPayment(
    operation: string,
    accountId: number,
    amountMinor: number,
    currency: string,
    comment: string,
    options: CallOptions,
  ): Promise<ActivePlatformPayment> {
    assertPositiveInt(accountId, 'accountId');
    assertDoubleExactAmount(amountMinor, 'amountMinor');
    if (typeof comment !== 'string') throw new Error('ActivePlatform: comment must be a string');
    // The total is spliced in as a literal: "19.99" goes on the wire as 19.99, never via a float we computed.
    const total = minorToMajorString(amountMinor, currency);
    const body = `{"account_id":${accountId},"total":${total},"comment":${JSON.stringify(comment)}}`;
    return this.http.request(this.write(operation, `${API}/payments.json`, body, options), activePlatformPaymentSchema);
  }

  private write(operation: string, path: string, body: string, options: CallOptions): HttpRequest {
    return { operation, method: 'POST', path, body, write: true, signal: options.signal };
  }
}

function assertPositiveInt(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new Error(
      `ActivePlatform: ${name} must be a positive integer, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
}
