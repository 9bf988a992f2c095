/**
 * Typed QorePay (CHIP Collect white-label) client over axios.
 *
 * - Every path ends in `/`; Bearer auth; JSON in and out.
 * - Sent through the shared pipeline (../http): HTTP outcomes become typed errors (see ./errors.ts), the key is added
 *   per request and redacted from everything logged or thrown.
 * - Every method takes a last `{ signal }` that aborts its requests (e.g. the activity's cancellation signal).
 */
import { z } from 'zod';
import { HttpPipeline, redactor, silentLogger, type CallOptions, type HttpAnswer, type Logger } from '../http';
import {
  ChargeDeclinedError,
  UnexpectedError,
  ValidationError,
  isQorePayError,
  nonFieldCodes,
  parseErrorBody,
  qorePayFailures,
} from './errors';
import {
  ChargebackReasonSchema,
  ClientRecurringTokenSchema,
  ClientSchema,
  PageSchema,
  PaymentSchema,
  PurchaseSchema,
  type ChargebackReason,
  type ClientRecurringToken,
  type Payment,
  type QorePayClientRecord,
  type Purchase,
} from './schemas';

export interface QorePayClientConfig {
  /** e.g. `https://gate.qorepay.com/api/v1` or a sandbox's `baseUrl`. */
  baseUrl: string;
  apiKey: string;
  brandId: string;
  /** Per-request timeout; default 15 000 ms. */
  timeoutMs?: number;
  logger?: Logger;
}

export interface PurchaseClientDetails {
  email: string;
  full_name?: string;
  phone?: string;
  country?: string;
  [field: string]: unknown;
}

export interface PurchaseProductInput {
  name: string;
  /** Integer minor units. */
  price: number;
  /** String-encoded decimal; default "1". */
  quantity?: string;
}

export interface CreatePurchaseInput {
  clientId?: string;
  client?: PurchaseClientDetails;
  /** Our invoice id (the billing cycle id), ≤128 chars. */
  reference: string;
  currency: string;
  products: PurchaseProductInput[];
  successCallback?: string;
  metadata?: Record<string, string>;
}

export interface ChargebackInput {
  reasonId: string;
  /** Acquirer Reference Number. */
  arn: string;
  /** UTC timestamp as a string of Unix seconds, e.g. "1619740800". */
  date: string;
  reference: string;
}

export type RefundResult = { kind: 'payment'; payment: Payment } | { kind: 'purchase'; purchase: Purchase };

export interface ChargebackReasonSummary {
  id: string;
  name: string;
}

const MAX_PAGES = 100;

export class QorePayClient {
  private readonly http: HttpPipeline;
  private readonly logger: Logger;
  private readonly brandId: string;
  private readonly baseUrl: string;
  private readonly origin: string;

  constructor(config: QorePayClientConfig) {
    if (!config.apiKey) throw new Error('QorePayClient: apiKey is required');
    if (!config.brandId) throw new Error('QorePayClient: brandId is required');
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.origin = new URL(this.baseUrl).origin;
    this.brandId = config.brandId;
    this.logger = config.logger ?? silentLogger;
    const apiKey = config.apiKey;
    this.http = new HttpPipeline({
      integration: 'qorepay',
      baseUrl: `${this.baseUrl}/`,
      timeoutMs: config.timeoutMs ?? 15_000,
      logger: this.logger,
      redact: redactor({ secrets: [apiKey], patterns: [[/Bearer\s+\S+/gi, 'Bearer [REDACTED]']] }),
      // The key lives only in this closure and the outgoing request's headers, never in the client's state.
      authenticate: ({ headers }) => {
        headers.Authorization = `Bearer ${apiKey}`;
      },
      failures: qorePayFailures,
    });
  }

  // ---------------------------------------------------------------- purchases

  async createPurchase(input: CreatePurchaseInput, options: CallOptions = {}): Promise<Purchase> {
    const operation = 'createPurchase';
    if ((input.clientId === undefined) === (input.client === undefined)) {
      throw new ValidationError({
        operation,
        fieldErrors: [{ path: 'client_id', code: 'invalid', message: 'Give exactly one of clientId or client' }],
      });
    }
    const purchase: Record<string, unknown> = {
      currency: input.currency,
      products: input.products.map((p) => ({ name: p.name, price: p.price, quantity: p.quantity ?? '1' })),
    };
    if (input.metadata !== undefined) purchase.metadata = input.metadata;
    const body: Record<string, unknown> = { brand_id: this.brandId, reference: input.reference, purchase };
    if (input.clientId !== undefined) body.client_id = input.clientId;
    if (input.client !== undefined) body.client = input.client;
    if (input.successCallback !== undefined) body.success_callback = input.successCallback;
    return this.write(operation, 'purchases/', body, options, PurchaseSchema);
  }

  async getPurchase(id: string, options: CallOptions = {}): Promise<Purchase> {
    return this.read('getPurchase', `purchases/${seg(id)}/`, options, PurchaseSchema);
  }

  /**
   * Every Purchase whose `reference` is exactly `reference`, oldest first, following `next` links.
   * `GET /purchases/?reference=` is CHIP's list endpoint (not in QorePay's reference pages; the sandbox serves it the
   * same way): the gateway's filter is trusted for the query only, each row's own `reference` is compared again here, so
   * a gateway that ignored the filter can never make us adopt another invoice's Purchase.
   */
  async listPurchasesByReference(reference: string, options: CallOptions = {}): Promise<Purchase[]> {
    const operation = 'listPurchasesByReference';
    if (!reference) {
      throw new ValidationError({
        operation,
        fieldErrors: [{ path: 'reference', code: 'required', message: 'reference is required' }],
      });
    }
    const first = await this.http.send(
      get(operation, `purchases/?reference=${encodeURIComponent(reference)}`, options),
    );
    const found: Purchase[] = [];
    const collect = (items: Purchase[]): void => {
      found.push(...items.filter((p) => p.reference === reference));
    };
    if (Array.isArray(first.json)) collect(this.http.parse(first, z.array(PurchaseSchema)));
    else await this.followPages(first, PurchaseSchema, collect, options);
    return found.sort((a, b) => a.created_on - b.created_on);
  }

  /**
   * Charges a Purchase with a recurring token. Resolves with the Purchase in `paid` or `pending_charge`.
   * Throws ChargeDeclined (with the attempt's code and class), InvalidRecurringToken, AlreadyPaid, or the
   * transport kinds.
   */
  async chargePurchase(id: string, recurringToken: string, options: CallOptions = {}): Promise<Purchase> {
    const answer = await this.http.send({
      operation: 'chargePurchase',
      method: 'POST',
      path: `purchases/${seg(id)}/charge/`,
      body: JSON.stringify({ recurring_token: recurringToken }),
      write: true,
      signal: options.signal,
      // A decline is a 400 whose details are on the Purchase: read it below rather than as a Validation error.
      accept: (a) => a.status === 400 && nonFieldCodes(parseErrorBody(a.text)).includes('purchase_charge_error'),
    });
    if (answer.status === 400) {
      const message = parseErrorBody(answer.text).find((e) => e.code === 'purchase_charge_error')?.message;
      throw await this.declineFromPurchase(id, message, answer.status, options);
    }
    const purchase = this.http.parse(answer, PurchaseSchema);
    if (purchase.status === 'error' || purchase.status === 'blocked') {
      // Not the documented path (that is a 400), but never report a failed purchase as charged.
      throw this.declineOf(purchase, undefined, answer.status);
    }
    return purchase;
  }

  async markAsPaid(id: string, paidOnUnixSeconds?: number, options: CallOptions = {}): Promise<Purchase> {
    const operation = 'markAsPaid';
    const body: Record<string, unknown> = {};
    if (paidOnUnixSeconds !== undefined) {
      if (!Number.isInteger(paidOnUnixSeconds) || paidOnUnixSeconds < 0 || paidOnUnixSeconds > 99_999_999_999) {
        throw new ValidationError({
          operation,
          fieldErrors: [{ path: 'paid_on', code: 'invalid', message: 'paid_on must be integer Unix seconds' }],
        });
      }
      body.paid_on = paidOnUnixSeconds;
    }
    return this.write(operation, `purchases/${seg(id)}/mark_as_paid/`, body, options, PurchaseSchema);
  }

  async cancelPurchase(id: string, options: CallOptions = {}): Promise<Purchase> {
    return this.write('cancelPurchase', `purchases/${seg(id)}/cancel/`, {}, options, PurchaseSchema);
  }

  /** Full refund when `amount` is omitted. Resolves with the refund Payment, or the Purchase in `pending_refund`. */
  async refundPurchase(id: string, amount?: number, options: CallOptions = {}): Promise<RefundResult> {
    const operation = 'refundPurchase';
    if (amount !== undefined && (!Number.isInteger(amount) || amount <= 0)) {
      throw new ValidationError({
        operation,
        fieldErrors: [{ path: 'amount', code: 'invalid', message: 'amount must be a positive integer (minor units)' }],
      });
    }
    const answer = await this.http.send({
      operation,
      method: 'POST',
      path: `purchases/${seg(id)}/refund/`,
      body: JSON.stringify(amount === undefined ? {} : { amount }),
      write: true,
      signal: options.signal,
    });
    const body = this.http.parse(answer, z.looseObject({ type: z.string().optional(), status: z.string().optional() }));
    if (body.type === 'payment') return { kind: 'payment', payment: this.http.parse(answer, PaymentSchema) };
    return { kind: 'purchase', purchase: this.http.parse(answer, PurchaseSchema) };
  }

  /** Registers an acquirer-reported chargeback (QorePay only). Resolves with the Purchase (`charged_back`). */
  async registerChargeback(id: string, input: ChargebackInput, options: CallOptions = {}): Promise<Purchase> {
    const body = {
      reason_id: String(input.reasonId),
      arn: String(input.arn),
      date: String(input.date),
      reference: String(input.reference),
    };
    return this.write('registerChargeback', `purchases/${seg(id)}/chargeback/`, body, options, PurchaseSchema);
  }

  /** The shape is undocumented: accepts a list, `{results: [...]}` (following `next`), ids as strings or numbers. */
  async listChargebackReasons(options: CallOptions = {}): Promise<ChargebackReasonSummary[]> {
    const operation = 'listChargebackReasons';
    const first = await this.http.send(get(operation, 'purchases/chargeback_reasons/', options));
    if (Array.isArray(first.json)) return this.http.parse(first, z.array(ChargebackReasonSchema));
    const reasons: ChargebackReason[] = [];
    await this.followPages(first, ChargebackReasonSchema, (items) => reasons.push(...items), options);
    return reasons;
  }

  // ---------------------------------------------------------------- clients

  /** A platform Client by id; throws NotFound (kind 'NotFound') when there is none. */
  async getClient(id: string, options: CallOptions = {}): Promise<QorePayClientRecord> {
    return this.read('getClient', `clients/${seg(id)}/`, options, ClientSchema);
  }

  // ---------------------------------------------------------------- recurring tokens

  /** Deletes a recurring token (the id of the Purchase that saved the card). */
  async deleteRecurringToken(tokenId: string, options: CallOptions = {}): Promise<Purchase> {
    const path = `purchases/${seg(tokenId)}/delete_recurring_token/`;
    return this.write('deleteRecurringToken', path, {}, options, PurchaseSchema);
  }

  /** Every recurring token of a platform Client, following `next` links. */
  async listClientRecurringTokens(clientId: string, options: CallOptions = {}): Promise<ClientRecurringToken[]> {
    const operation = 'listClientRecurringTokens';
    const first = await this.http.send(get(operation, `clients/${seg(clientId)}/recurring_tokens/`, options));
    const tokens: ClientRecurringToken[] = [];
    await this.followPages(first, ClientRecurringTokenSchema, (items) => tokens.push(...items), options);
    return tokens;
  }

  // ---------------------------------------------------------------- keys

  /** The company-wide public key that signs callbacks, as PEM text. */
  async getPublicKey(options: CallOptions = {}): Promise<string> {
    const pem = await this.read('getPublicKey', 'public_key/', options, z.string().min(1));
    return pem.replace(/\\n/g, '\n').trim() + '\n';
  }

  // ---------------------------------------------------------------- plumbing

  private read<S extends z.ZodType>(operation: string, path: string, options: CallOptions, schema: S) {
    return this.http.request(get(operation, path, options), schema);
  }

  private write<S extends z.ZodType>(operation: string, path: string, body: unknown, options: CallOptions, schema: S) {
    const request = { operation, method: 'POST', path, body: JSON.stringify(body), write: true } as const;
    return this.http.request({ ...request, signal: options.signal }, schema);
  }

  private async declineFromPurchase(
    id: string,
    fallbackMessage: string | undefined,
    httpStatus: number,
    options: CallOptions,
  ): Promise<ChargeDeclinedError> {
    try {
      const purchase = await this.getPurchase(id, options);
      return this.declineOf(purchase, fallbackMessage, httpStatus);
    } catch (e) {
      this.logger.warn(
        { operation: 'chargePurchase', purchaseId: id, readError: isQorePayError(e) ? e.kind : 'unknown' },
        'qorepay: could not re-read a declined purchase',
      );
      return new ChargeDeclinedError({
        code: undefined,
        declineMessage: fallbackMessage,
        purchase: undefined,
        httpStatus,
        operation: 'chargePurchase',
      });
    }
  }

  private declineOf(purchase: Purchase, fallbackMessage: string | undefined, httpStatus: number): ChargeDeclinedError {
    const attempt = purchase.transaction_data?.attempts[0];
    const error = attempt && !attempt.successful ? attempt.error : undefined;
    return new ChargeDeclinedError({
      code: error?.code,
      declineMessage: error?.message ?? fallbackMessage,
      purchase,
      httpStatus,
      operation: 'chargePurchase',
    });
  }

  private async followPages<T extends z.ZodType>(
    first: HttpAnswer,
    item: T,
    collect: (items: z.output<T>[]) => void,
    options: CallOptions,
  ): Promise<void> {
    const { operation } = first.request;
    let answer = first;
    for (let page = 1; ; page++) {
      const body = this.http.parse(answer, PageSchema(item));
      collect(body.results);
      if (!body.next) return;
      if (page >= MAX_PAGES) throw new UnexpectedError({ operation, detail: `more than ${MAX_PAGES} pages` });
      const next = new URL(body.next, `${this.baseUrl}/`);
      // Never send the Bearer key to another host because a `next` link said so.
      if (next.origin !== this.origin) {
        throw new UnexpectedError({ operation, detail: `pagination link to a foreign origin ${next.origin}` });
      }
      answer = await this.http.send(get(operation, next.toString(), options));
    }
  }
}

const seg = (id: string): string => encodeURIComponent(id);

const get = (operation: string, path: string, options: CallOptions) =>
  ({ operation, method: 'GET', path, write: false, signal: options.signal }) as const;
