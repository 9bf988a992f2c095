/**
 * Delivers signed merchant notifications over HTTP (axios). Knows nothing of Temporal: the notify activity wraps
 * `send` and turns `MerchantWebhookError.retryable` into an activity retry or a non-retryable failure.
 *
 * Each POST carries the exact JSON that was signed, with headers `Content-Type: application/json`,
 * `Billing-Signature: t=<unix s>,v1=<hex>` (one v1 per active secret), `Billing-Event-Id` (the idempotency key:
 * receivers dedupe on it, so retries are harmless) and `Billing-Event-Type`.
 */
import axios, { type AxiosInstance } from 'axios';
import { type Readable } from 'node:stream';
import { classifyStatus, MerchantWebhookError } from './errors';
import { isMerchantEventType, type MerchantEvent } from './events';
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signPayload } from './signature';

/** The subset of a pino logger the sender uses. A pino `Logger` satisfies it. */
export interface MerchantWebhookLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
}

export interface MerchantWebhookSenderConfig {
  /** The merchant's endpoint, http(s). Its query string is never logged nor put into errors. */
  url: string;
  /** Signing secret; several while rotating (each yields its own `v1=` in the header). */
  secret: string | readonly string[];
  /** Whole-request deadline (connect, send, answer headers); default 10 000 ms. */
  timeoutMs?: number;
  logger?: MerchantWebhookLogger;
  userAgent?: string;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_USER_AGENT = 'temporal-billing-engine-webhooks/0.1';
/** How much of a refusing receiver's answer is kept in the error message. */
const RESPONSE_SNIPPET_CHARS = 200;

const silentLogger: MerchantWebhookLogger = { debug: () => undefined, warn: () => undefined };

/** Origin and path only: no credentials, query string (tokens live there) or fragment. */
function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export class MerchantWebhookSender {
  /** Private fields stay out of JSON.stringify, util.inspect and loggers that serialize the sender. */
  readonly #secrets: readonly string[];
  readonly #url: string;
  readonly #http: AxiosInstance;
  readonly #logger: MerchantWebhookLogger;
  readonly #timeoutMs: number;
  /** The endpoint as it may appear in logs and errors. */
  readonly endpoint: string;

  constructor(config: MerchantWebhookSenderConfig) {
    let parsed: URL;
    try {
      parsed = new URL(config.url);
    } catch {
      throw new TypeError('url: must be an absolute http(s) URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`url: must use http or https (got ${parsed.protocol})`);
    }
    const secrets = typeof config.secret === 'string' ? [config.secret] : [...config.secret];
    if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new TypeError('secret: give at least one non-empty signing secret');
    }
    const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new TypeError(`timeoutMs: must be a positive number (got ${timeoutMs})`);
    }
    this.#secrets = secrets;
    this.#url = parsed.toString();
    this.#timeoutMs = timeoutMs;
    this.#logger = config.logger ?? silentLogger;
    this.endpoint = redactUrl(parsed);
    this.#http = axios.create({
      timeout: timeoutMs,
      maxRedirects: 0, // a redirect is a misconfigured endpoint; following it would re-POST elsewhere
      responseType: 'stream', // status first; the body is read only for a short snippet, never buffered whole
      validateStatus: () => true, // every status is classified here
      transformRequest: [(data: unknown) => data], // send exactly the bytes that were signed
      headers: { 'User-Agent': config.userAgent ?? DEFAULT_USER_AGENT },
    });
  }

  /**
   * Posts `event`, signed at `nowSec` (unix seconds; defaults to the system clock). Resolves with the receiver's
   * 2xx status; otherwise throws a MerchantWebhookError: `Transient` (retryable) or `Rejected` / `InvalidEvent`.
   */
  async send(event: MerchantEvent, nowSec?: number): Promise<{ status: number }> {
    const context = { eventId: event.id, eventType: event.type, endpoint: this.endpoint };
    if (typeof event.id !== 'string' || event.id.length === 0) {
      throw new MerchantWebhookError('InvalidEvent', 'Merchant event has no id', { ...context, reason: 'missing_id' });
    }
    if (!isMerchantEventType(event.type)) {
      throw new MerchantWebhookError('InvalidEvent', `Unknown merchant event type ${JSON.stringify(event.type)}`, {
        ...context,
        reason: 'unknown_event_type',
      });
    }
    const timestampSec = Math.floor(nowSec ?? Date.now() / 1000);
    const body = JSON.stringify(event);
    const signature = signPayload(body, this.#secrets, timestampSec);

    let status: number;
    let stream: Readable | undefined;
    try {
      const response = await this.#http.post<Readable>(this.#url, body, {
        headers: {
          'Content-Type': 'application/json',
          [SIGNATURE_HEADER]: signature,
          [EVENT_ID_HEADER]: event.id,
          [EVENT_TYPE_HEADER]: event.type,
        },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = response.status;
      stream = response.data;
    } catch (err) {
      const reason = transportReason(err);
      this.#logger.warn({ ...context, reason }, 'merchant webhook not delivered (transport failure; retryable)');
      throw new MerchantWebhookError('Transient', `Merchant webhook ${event.id} not delivered: ${reason}`, {
        ...context,
        reason,
      });
    }

    const outcome = classifyStatus(status);
    if (outcome === 'ok') {
      stream?.destroy();
      this.#logger.debug({ ...context, status }, 'merchant webhook delivered');
      return { status };
    }
    const snippet = this.#scrub(await readSnippet(stream));
    const reason = `http_${status}`;
    this.#logger.warn(
      { ...context, status, retryable: outcome === 'Transient' },
      'merchant webhook refused by the receiver',
    );
    const verdict = outcome === 'Transient' ? 'will retry' : 'not retryable';
    throw new MerchantWebhookError(
      outcome,
      `Merchant endpoint answered HTTP ${status} to ${event.id} (${verdict})${snippet ? `: ${snippet}` : ''}`,
      { ...context, reason, httpStatus: status },
    );
  }

  /** Defence in depth: a receiver echoing something secret back must not get it into our errors. */
  #scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join('[redacted]');
    return out;
  }
}

/** Up to RESPONSE_SNIPPET_CHARS of the answer body, whitespace collapsed; '' if unreadable. */
async function readSnippet(stream: Readable | undefined): Promise<string> {
  if (stream === undefined) return '';
  let text = '';
  try {
    for await (const chunk of stream) {
      text += Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      if (text.length >= RESPONSE_SNIPPET_CHARS * 4) break;
    }
  } catch {
    // The body is only a hint for humans.
  } finally {
    stream.destroy();
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, RESPONSE_SNIPPET_CHARS);
}

/** A short, secret-free cause for a transport failure (axios errors carry request config, so they never escape). */
function transportReason(err: unknown): string {
  if (axios.isCancel(err)) return 'timeout';
  const code = (err as { code?: unknown }).code;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED') return 'timeout';
  const name = (err as { name?: unknown }).name;
  if (name === 'AbortError' || name === 'TimeoutError' || name === 'CanceledError') return 'timeout';
  if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  return 'network_error';
}

/**
 * Adapts a sender to a `{ send(event): Promise<void> }` notifier (the shape the notify activity expects), signing
 * with the given clock (epoch ms).
 */
export function asMerchantNotifier(
  sender: MerchantWebhookSender,
  nowMs: () => number,
): { send(event: MerchantEvent): Promise<void> } {
  return {
    async send(event: MerchantEvent): Promise<void> {
      await sender.send(event, Math.floor(nowMs() / 1000));
    },
  };
}
