/**
 * Typed QorePay (CHIP Collect white-label) client over axios.
 *
 * - Every path ends in `/`; Bearer auth; JSON in and out.
 * - HTTP outcomes become typed errors (see ./errors.ts); axios errors never escape (they carry the Authorization
 *   header in their config), and nothing logged or thrown contains the API key.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { z } from 'zod';
import {
  AlreadyPaidError,
  ChargeDeclinedError,
  InvalidRecurringTokenError,
  NotFoundError,
  type QorePayError,
  RateLimitedError,
  TransientError,
  UnauthorizedError,
  UnexpectedError,
  ValidationError,
  isQorePayError,
  nonFieldCodes,
  parseErrorBody,
  parseRetryAfter,
  type FieldError,
} from './errors';
import { silentLogger, type Logger } from './logger';
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
const MAX_LOGGED_BODY = 2000;

type Method = 'GET' | 'POST' | 'DELETE';

interface Sent {
  response: AxiosResponse<unknown>;
  operation: string;
}

export class QorePayClient {
  private readonly http: AxiosInstance;
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
    this.http = axios.create({
      baseURL: `${this.baseUrl}/`,
      timeout: config.timeoutMs ?? 15_000,
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      // We map every status ourselves; axios only throws for transport failures.
      validateStatus: () => true,
      maxRedirects: 0,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
    });
    // The key lives only in this closure and the outgoing request's headers, never in the client's state.
    this.http.interceptors.request.use((req) => {
      req.headers.set('Authorization', `Bearer ${apiKey}`);
      return req;
    });
  }

  // ---------------------------------------------------------------- purchases

  async createPurchase(input: CreatePurchaseInput): Promise<Purchase> {
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
    const sent = await this.send(operation, 'POST', 'purchases/', body);
    return this.expect(sent, PurchaseSchema);
  }

  async getPurchase(id: string): Promise<Purchase> {
    const sent = await this.send('getPurchase', 'GET', `purchases/${seg(id)}/`);
    return this.expect(sent, PurchaseSchema);
  }

  /**
   * Charges a Purchase with a recurring token. Resolves with the Purchase in `paid` or `pending_charge`.
   * Throws ChargeDeclined (with the attempt's code and class), InvalidRecurringToken, AlreadyPaid, or the
   * transport kinds.
   */
  async chargePurchase(id: string, recurringToken: string): Promise<Purchase> {
    const operation = 'chargePurchase';
    const sent = await this.send(operation, 'POST', `purchases/${seg(id)}/charge/`, {
      recurring_token: recurringToken,
    });
    const { response } = sent;
    if (response.status === 400) {
      const errors = parseErrorBody(response.data);
      const codes = nonFieldCodes(errors);
      if (codes.includes('purchase_charge_error')) {
        const message = errors.find((e) => e.code === 'purchase_charge_error')?.message;
        throw await this.declineFromPurchase(id, message, response.status);
      }
    }
    const purchase = this.expect(sent, PurchaseSchema);
    if (purchase.status === 'error' || purchase.status === 'blocked') {
      // Not the documented path (that is a 400), but never report a failed purchase as charged.
      throw this.declineOf(purchase, undefined, response.status);
    }
    return purchase;
  }

  async markAsPaid(id: string, paidOnUnixSeconds?: number): Promise<Purchase> {
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
    const sent = await this.send(operation, 'POST', `purchases/${seg(id)}/mark_as_paid/`, body);
    return this.expect(sent, PurchaseSchema);
  }

  async cancelPurchase(id: string): Promise<Purchase> {
    const sent = await this.send('cancelPurchase', 'POST', `purchases/${seg(id)}/cancel/`, {});
    return this.expect(sent, PurchaseSchema);
  }

  /** Full refund when `amount` is omitted. Resolves with the refund Payment, or the Purchase in `pending_refund`. */
  async refundPurchase(id: string, amount?: number): Promise<RefundResult> {
    const operation = 'refundPurchase';
    if (amount !== undefined && (!Number.isInteger(amount) || amount <= 0)) {
      throw new ValidationError({
        operation,
        fieldErrors: [{ path: 'amount', code: 'invalid', message: 'amount must be a positive integer (minor units)' }],
      });
    }
    const sent = await this.send(
      operation,
      'POST',
      `purchases/${seg(id)}/refund/`,
      amount === undefined ? {} : { amount },
    );
    const body = this.expect(sent, z.looseObject({ type: z.string().optional(), status: z.string().optional() }));
    if (body.type === 'payment') return { kind: 'payment', payment: this.expect(sent, PaymentSchema) };
    return { kind: 'purchase', purchase: this.expect(sent, PurchaseSchema) };
  }

  /** Registers an acquirer-reported chargeback (QorePay only). Resolves with the Purchase (`charged_back`). */
  async registerChargeback(id: string, input: ChargebackInput): Promise<Purchase> {
    const sent = await this.send('registerChargeback', 'POST', `purchases/${seg(id)}/chargeback/`, {
      reason_id: String(input.reasonId),
      arn: String(input.arn),
      date: String(input.date),
      reference: String(input.reference),
    });
    return this.expect(sent, PurchaseSchema);
  }

  /** The shape is undocumented: accepts a list, `{results: [...]}` (following `next`), ids as strings or numbers. */
  async listChargebackReasons(): Promise<ChargebackReasonSummary[]> {
    const operation = 'listChargebackReasons';
    const sent = await this.send(operation, 'GET', 'purchases/chargeback_reasons/');
    const data = this.json(sent);
    if (Array.isArray(data)) return this.parseWith(sent, z.array(ChargebackReasonSchema), data);
    const reasons: ChargebackReason[] = [];
    await this.followPages(operation, sent, ChargebackReasonSchema, (items) => reasons.push(...items));
    return reasons;
  }

  // ---------------------------------------------------------------- clients

  /** A platform Client by id; throws NotFound (kind 'NotFound') when there is none. */
  async getClient(id: string): Promise<QorePayClientRecord> {
    const sent = await this.send('getClient', 'GET', `clients/${seg(id)}/`);
    return this.expect(sent, ClientSchema);
  }

  // ---------------------------------------------------------------- recurring tokens

  /** Deletes a recurring token (the id of the Purchase that saved the card). */
  async deleteRecurringToken(tokenId: string): Promise<Purchase> {
    const sent = await this.send(
      'deleteRecurringToken',
      'POST',
      `purchases/${seg(tokenId)}/delete_recurring_token/`,
      {},
    );
    return this.expect(sent, PurchaseSchema);
  }

  /** Every recurring token of a platform Client, following `next` links. */
  async listClientRecurringTokens(clientId: string): Promise<ClientRecurringToken[]> {
    const operation = 'listClientRecurringTokens';
    const sent = await this.send(operation, 'GET', `clients/${seg(clientId)}/recurring_tokens/`);
    const tokens: ClientRecurringToken[] = [];
    await this.followPages(operation, sent, ClientRecurringTokenSchema, (items) => tokens.push(...items));
    return tokens;
  }

  // ---------------------------------------------------------------- keys

  /** The company-wide public key that signs callbacks, as PEM text. */
  async getPublicKey(): Promise<string> {
    const sent = await this.send('getPublicKey', 'GET', 'public_key/');
    const pem = this.expect(sent, z.string().min(1));
    return pem.replace(/\\n/g, '\n').trim() + '\n';
  }

  // ---------------------------------------------------------------- plumbing

  private async declineFromPurchase(
    id: string,
    fallbackMessage: string | undefined,
    httpStatus: number,
  ): Promise<ChargeDeclinedError> {
    try {
      const purchase = await this.getPurchase(id);
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
    operation: string,
    first: Sent,
    item: T,
    collect: (items: z.output<T>[]) => void,
  ): Promise<void> {
    let sent = first;
    for (let page = 1; ; page++) {
      const body = this.expect(sent, PageSchema(item));
      collect(body.results);
      if (!body.next) return;
      if (page >= MAX_PAGES) throw new UnexpectedError({ operation, detail: `more than ${MAX_PAGES} pages` });
      const next = new URL(body.next, `${this.baseUrl}/`);
      // Never send the Bearer key to another host because a `next` link said so.
      if (next.origin !== this.origin) {
        throw new UnexpectedError({ operation, detail: `pagination link to a foreign origin ${next.origin}` });
      }
      sent = await this.send(operation, 'GET', next.toString());
    }
  }

  private async send(operation: string, method: Method, path: string, body?: unknown): Promise<Sent> {
    const started = Date.now();
    let response: AxiosResponse<unknown>;
    try {
      response = await this.http.request<unknown>({
        method,
        url: path,
        ...(body === undefined ? {} : { data: JSON.stringify(body) }),
      });
    } catch (e) {
      // Never rethrow or log the axios error itself: its config carries the Authorization header.
      const reason = transportReason(e);
      this.logger.warn({ operation, method, path: safePath(path), reason }, 'qorepay: transport failure');
      throw new TransientError({ reason, operation });
    }
    const ms = Date.now() - started;
    const status = response.status;
    this.logger.debug({ operation, method, path: safePath(path), status, ms }, 'qorepay: response');
    if (status >= 200 && status < 300) return { response, operation };

    const raw = typeof response.data === 'string' ? response.data : '';
    this.logger.warn(
      { operation, method, path: safePath(path), status, body: raw.slice(0, MAX_LOGGED_BODY) },
      'qorepay: error response',
    );
    if (status === 400 && operation === 'chargePurchase') {
      const codes = nonFieldCodes(parseErrorBody(raw));
      if (codes.includes('purchase_charge_error')) return { response: { ...response, data: raw }, operation };
    }
    throw this.errorFor(operation, status, raw, response.headers['retry-after']);
  }

  private errorFor(operation: string, status: number, raw: string, retryAfter: unknown): QorePayError {
    if (status === 401 || status === 403) return new UnauthorizedError({ httpStatus: status, operation });
    if (status === 404) return new NotFoundError({ httpStatus: status, operation });
    if (status === 429) {
      return new RateLimitedError({
        retryAfterMs: parseRetryAfter(retryAfter, Date.now()),
        httpStatus: status,
        operation,
      });
    }
    if (status >= 500) return new TransientError({ reason: `http_${status}`, httpStatus: status, operation });
    const errors: FieldError[] = parseErrorBody(raw);
    const codes = nonFieldCodes(errors);
    if (codes.includes('purchase_already_paid_for')) return new AlreadyPaidError({ httpStatus: status, operation });
    if (codes.includes('invalid_recurring_token')) {
      const message = errors.find((e) => e.code === 'invalid_recurring_token')?.message;
      return new InvalidRecurringTokenError({ declineMessage: message, httpStatus: status, operation });
    }
    if (status === 400 || status === 409 || status === 422) {
      return new ValidationError({ fieldErrors: errors, httpStatus: status, operation });
    }
    return new UnexpectedError({ detail: `HTTP ${status}`, httpStatus: status, operation });
  }

  private json(sent: Sent): unknown {
    const data = sent.response.data;
    if (typeof data !== 'string') return data;
    try {
      return JSON.parse(data) as unknown;
    } catch {
      throw new UnexpectedError({
        operation: sent.operation,
        httpStatus: sent.response.status,
        detail: 'response body is not JSON',
      });
    }
  }

  private expect<T extends z.ZodType>(sent: Sent, schema: T): z.output<T> {
    return this.parseWith(sent, schema, this.json(sent));
  }

  private parseWith<T extends z.ZodType>(sent: Sent, schema: T, data: unknown): z.output<T> {
    const parsed = schema.safeParse(data);
    if (parsed.success) return parsed.data;
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    this.logger.error(
      { operation: sent.operation, status: sent.response.status, detail },
      'qorepay: bad response shape',
    );
    throw new UnexpectedError({ operation: sent.operation, httpStatus: sent.response.status, detail });
  }
}

const seg = (id: string): string => encodeURIComponent(id);

/** Paths without query strings (which could carry secrets in other APIs). */
const safePath = (path: string): string => path.split('?')[0] ?? path;

function transportReason(e: unknown): string {
  if (axios.isAxiosError(e)) {
    if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || /timeout/i.test(e.message)) return 'timeout';
    if (e.code) return e.code;
    return 'network_error';
  }
  return 'network_error';
}
