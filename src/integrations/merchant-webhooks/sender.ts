/**
 * Delivers signed merchant notifications over HTTP (axios). Knows nothing of Temporal: the notify activity wraps
 * `send` and turns `MerchantWebhookError.retryable` into an activity retry or a non-retryable failure.
 *
 * Each POST carries the exact JSON that was signed, with headers `Content-Type: application/json`,
 * `Billing-Signature: t=<unix s>,v1=<hex>` (one v1 per active secret), `Billing-Event-Id` (the idempotency key:
 * receivers dedupe on it, so retries are harmless) and `Billing-Event-Type`.
 */
import { HttpPipeline, redactor, type FailureMapper, type Logger, type Redact } from '../http';
import { classifyStatus, MerchantWebhookError } from './errors';
import { isMerchantEventType, type MerchantEvent } from './events';
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signPayload } from './signature';

export interface MerchantWebhookSenderConfig {
  /** The merchant's endpoint, http(s). Its query string is never logged nor put into errors. */
  url: string;
  /** Signing secret; several while rotating (each yields its own `v1=` in the header). */
  secret: string | readonly string[];
  /** Whole-request deadline (connect, send, answer headers); default 10 000 ms. */
  timeoutMs?: number;
  logger?: Logger;
  userAgent?: string;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_USER_AGENT = 'temporal-billing-engine-webhooks/0.1';
/** How much of a refusing receiver's answer is kept in the error message. */
const RESPONSE_SNIPPET_CHARS = 200;

/** Origin and path only: no credentials, query string (tokens live there) or fragment. */
function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

type EventContext = { eventId: string; eventType: string; endpoint: string };

export class MerchantWebhookSender {
  /** Private fields stay out of JSON.stringify, util.inspect and loggers that serialize the sender. */
  readonly #secrets: readonly string[];
  readonly #redact: Redact;
  readonly #http: HttpPipeline;
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
    // Defence in depth: a receiver echoing something secret back must not get it into our errors or logs.
    this.#redact = redactor({ secrets, replacement: '[redacted]' });
    this.endpoint = redactUrl(parsed);
    this.#http = new HttpPipeline({
      integration: 'merchant-webhook',
      baseUrl: parsed.toString(),
      timeoutMs,
      logger: config.logger,
      headers: { 'User-Agent': config.userAgent ?? DEFAULT_USER_AGENT },
      redact: this.#redact,
      failures: this.#failures({ eventId: '', eventType: '', endpoint: this.endpoint }),
      maxBodyBytes: RESPONSE_SNIPPET_CHARS * 4,
    });
  }

  /**
   * Posts `event`, signed at `nowSec` (unix seconds; defaults to the system clock). Resolves with the receiver's
   * 2xx status; otherwise throws a MerchantWebhookError: `Transient` (retryable) or `Rejected` / `InvalidEvent`.
   * `options.signal` aborts the POST (e.g. the activity's cancellation signal).
   */
  async send(
    event: MerchantEvent,
    nowSec?: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ status: number }> {
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
    const answer = await this.#http.send({
      operation: 'deliverEvent',
      method: 'POST',
      path: '',
      body, // exactly the bytes that were signed
      headers: {
        [SIGNATURE_HEADER]: signPayload(body, this.#secrets, timestampSec),
        [EVENT_ID_HEADER]: event.id,
        [EVENT_TYPE_HEADER]: event.type,
      },
      // Receivers dedupe by event id, so an unanswered POST is not ambiguous: it is sent again.
      write: false,
      signal: options.signal,
      failures: this.#failures(context),
    });
    return { status: answer.status };
  }

  #failures(context: EventContext): FailureMapper {
    const redact = this.#redact;
    return {
      transport: (f) =>
        new MerchantWebhookError('Transient', `Merchant webhook ${context.eventId} not delivered: ${f.reason}`, {
          ...context,
          reason: f.reason,
        }),
      status: (f) => {
        const { status } = f.answer;
        const outcome = classifyStatus(status) === 'Transient' ? 'Transient' : 'Rejected';
        const snippet = redact(f.answer.text).replace(/\s+/g, ' ').trim().slice(0, RESPONSE_SNIPPET_CHARS);
        const verdict = outcome === 'Transient' ? 'will retry' : 'not retryable';
        return new MerchantWebhookError(
          outcome,
          `Merchant endpoint answered HTTP ${status} to ${context.eventId} (${verdict})${snippet ? `: ${snippet}` : ''}`,
          { ...context, reason: `http_${status}`, httpStatus: status },
        );
      },
      // The receiver's body is never parsed.
      shape: (f) =>
        new MerchantWebhookError('Rejected', `Merchant endpoint answered HTTP ${f.status}`, {
          ...context,
          reason: 'bad_answer',
        }),
    };
  }
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
