/**
 * The one JSON-over-HTTP pipeline every integration sends through (axios underneath):
 *
 * - credentials are added per request by the integration's `authenticate` hook, so they live only in its closure and
 *   the outgoing request, never in logs, errors or this object;
 * - bodies are JSON text sent byte for byte (integrations write exact money literals into them);
 * - every status reaches the integration's classification; axios errors never escape (their config holds the
 *   credentials): transport failures become a `TransportFailure` (timeout, cancellation, ECONNREFUSED...) with
 *   `outcomeUnknown` set for writes that may have reached the server;
 * - one deadline covers connecting, sending and reading the answer, and the caller's `AbortSignal` (e.g. a Temporal
 *   activity's cancellation signal) aborts the request at once;
 * - 2xx answers are parsed with zod (`parse`); each request logs its operation, status and duration, and every logged
 *   text passes the integration's `redact` hook.
 */
import axios, { type AxiosInstance } from 'axios';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import { parseRetryAfter } from './errors';
import { silentLogger, type Logger } from '../../shared/logger';
import { noRedaction, type Redact } from './redact';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What every failure and log line says about the request. */
export interface RequestFacts {
  operation: string;
  method: HttpMethod;
  /** The path without its query string. */
  path: string;
  /** A write: when no answer came, it may nevertheless have been applied. */
  write: boolean;
}

/** The last argument of every client method: `signal` aborts the call's HTTP requests (e.g. on activity cancel). */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface HttpRequest {
  operation: string;
  method: HttpMethod;
  /** Relative to the base URL, or absolute. Secrets never go here: the `authenticate` hook adds them. */
  path: string;
  query?: Record<string, string | number>;
  /** A complete JSON document, sent as is. */
  body?: string;
  headers?: Record<string, string>;
  write: boolean;
  /** Aborts the request, e.g. the activity's cancellation signal. */
  signal?: AbortSignal | undefined;
  /** A non-2xx answer the caller reads itself instead of getting an error (e.g. a decline body). */
  accept?: (answer: HttpAnswer) => boolean;
  /** This request's own failure mapping (e.g. with the event it delivers); default the pipeline's. */
  failures?: FailureMapper;
  /** How much of the answer's body to read; default the pipeline's `maxBodyBytes`. */
  maxBodyBytes?: number;
}

export interface HttpAnswer {
  request: RequestFacts;
  status: number;
  headers: Record<string, unknown>;
  /** The body as text, at most `maxBodyBytes` of it. */
  text: string;
  /** The body parsed as JSON (undefined when `isJson` is false). */
  json: unknown;
  isJson: boolean;
}

export interface TransportFailure extends RequestFacts {
  /** `timeout`, `aborted` (the caller's signal), an errno code such as `ECONNREFUSED`, or `network_error`. */
  reason: string;
  code: string | undefined;
  timeoutMs: number;
  /** A write that may have reached the server (anything but a refused connection or an abort before sending). */
  outcomeUnknown: boolean;
}

export interface StatusFailure extends RequestFacts {
  answer: HttpAnswer;
  retryAfterMs: number | undefined;
  /** A write answered 408 or 5xx: it may have been applied. */
  outcomeUnknown: boolean;
}

export interface ShapeFailure extends RequestFacts {
  status: number;
  /** The first schema issues, e.g. `id: Invalid input`. */
  detail: string;
  /** A write answered 2xx with a body we cannot read: it probably was applied. */
  outcomeUnknown: boolean;
}

/** How one integration turns failures into its errors (kinds, codes, messages; already redacted). */
export interface FailureMapper {
  transport(failure: TransportFailure): Error & { kind?: string };
  status(failure: StatusFailure): Error & { kind?: string; code?: string | undefined };
  shape(failure: ShapeFailure): Error & { kind?: string };
}

export interface HttpPipelineOptions {
  /** Names the integration in log lines, e.g. `activeplatform`. */
  integration: string;
  baseUrl: string;
  /** Deadline of a whole request: connect, send, answer. */
  timeoutMs: number;
  failures: FailureMapper;
  /** Adds credentials to each outgoing request (headers or query). */
  authenticate?: (request: { headers: Record<string, string>; query: Record<string, string | number> }) => void;
  headers?: Record<string, string>;
  redact?: Redact;
  logger?: Logger | undefined;
  /** Default 5 MiB. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;
const LOGGED_BODY_CHARS = 500;

export class HttpPipeline {
  readonly timeoutMs: number;
  readonly redact: Redact;
  private readonly http: AxiosInstance;
  private readonly logger: Logger;

  constructor(private readonly options: HttpPipelineOptions) {
    this.timeoutMs = options.timeoutMs;
    this.redact = options.redact ?? noRedaction;
    this.logger = options.logger ?? silentLogger;
    this.http = axios.create({
      baseURL: options.baseUrl,
      maxRedirects: 0, // a redirect would re-send credentials or a write elsewhere
      validateStatus: () => true, // every status is classified by the integration
      responseType: 'stream', // read here, within the deadline and up to a size
      transformRequest: [(data: unknown) => data], // the body is final JSON text
    });
  }

  /** Sends the request; resolves with a 2xx (or accepted) answer, else throws the integration's error. */
  async send(req: HttpRequest): Promise<HttpAnswer> {
    const facts: RequestFacts = {
      operation: req.operation,
      method: req.method,
      path: req.path.split('?')[0] ?? req.path,
      write: req.write,
    };
    const failures = req.failures ?? this.options.failures;
    const logBase = {
      integration: this.options.integration,
      operation: facts.operation,
      method: facts.method,
      path: this.redact(facts.path),
    };
    const started = Date.now();
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, deadline]) : deadline;
    let answer: HttpAnswer;
    try {
      const headers: Record<string, string> = { Accept: 'application/json', ...this.options.headers };
      if (req.body !== undefined) headers['Content-Type'] = 'application/json';
      Object.assign(headers, req.headers);
      const query: Record<string, string | number> = { ...req.query };
      this.options.authenticate?.({ headers, query });
      const response = await this.http.request<Readable>({
        method: req.method,
        url: req.path,
        params: query,
        headers,
        signal,
        ...(req.body === undefined ? {} : { data: req.body }),
      });
      const text = await readBody(
        response.data,
        req.maxBodyBytes ?? this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        signal,
      );
      answer = { request: facts, status: response.status, headers: { ...response.headers }, text, ...asJson(text) };
    } catch (err) {
      const error = failures.transport(transportFailure(err, facts, req.signal, deadline, this.timeoutMs));
      this.logger.warn({ ...logBase, kind: error.kind, durationMs: Date.now() - started }, this.redact(error.message));
      throw error;
    }
    const durationMs = Date.now() - started;
    const { status } = answer;
    if ((status >= 200 && status < 300) || req.accept?.(answer)) {
      this.logger.debug(
        { ...logBase, status, durationMs },
        `${this.options.integration} ${facts.operation}: HTTP ${status}`,
      );
      return answer;
    }
    const error = failures.status({
      ...facts,
      answer,
      retryAfterMs: parseRetryAfter(answer.headers['retry-after'], Date.now(), undefined),
      outcomeUnknown: facts.write && (status === 408 || status >= 500),
    });
    this.logger.warn(
      {
        ...logBase,
        status,
        durationMs,
        kind: error.kind,
        code: error.code,
        body: this.redact(answer.text.slice(0, LOGGED_BODY_CHARS)),
      },
      this.redact(error.message),
    );
    throw error;
  }

  /** The answer's JSON body checked against `schema`; a mismatch is the integration's shape error. */
  parse<S extends z.ZodType>(
    answer: HttpAnswer,
    schema: S,
    failures: FailureMapper = this.options.failures,
  ): z.output<S> {
    const parsed = answer.isJson ? schema.safeParse(answer.json) : undefined;
    if (parsed?.success) return parsed.data;
    const detail = parsed
      ? parsed.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ')
      : 'response body is not JSON';
    const error = failures.shape({
      ...answer.request,
      status: answer.status,
      detail,
      outcomeUnknown: answer.request.write,
    });
    this.logger.error(
      {
        integration: this.options.integration,
        operation: answer.request.operation,
        status: answer.status,
        kind: error.kind,
        detail: this.redact(detail),
      },
      this.redact(error.message),
    );
    throw error;
  }

  /** `send`, then `parse`. */
  async request<S extends z.ZodType>(req: HttpRequest, schema: S): Promise<z.output<S>> {
    return this.parse(await this.send(req), schema, req.failures);
  }
}

function asJson(text: string): { json: unknown; isJson: boolean } {
  if (text.trim() === '') return { json: undefined, isJson: false };
  try {
    return { json: JSON.parse(text) as unknown, isJson: true };
  } catch {
    return { json: undefined, isJson: false };
  }
}

/** Up to `limit` bytes of the body as UTF-8; aborting `signal` stops the read (it fails). */
async function readBody(stream: Readable, limit: number, signal: AbortSignal): Promise<string> {
  const stop = (): void => {
    stream.destroy(new Error('aborted while reading the answer'));
  };
  signal.addEventListener('abort', stop, { once: true });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    if (signal.aborted) stop();
    for await (const chunk of stream) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(buf);
      size += buf.length;
      if (size >= limit) break;
    }
  } finally {
    signal.removeEventListener('abort', stop);
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** A short, secret-free account of why no answer came (the axios error itself never leaves this function). */
function transportFailure(
  err: unknown,
  facts: RequestFacts,
  callerSignal: AbortSignal | undefined,
  deadline: AbortSignal,
  timeoutMs: number,
): TransportFailure {
  const raw = (err as { code?: unknown } | null)?.code;
  const errno = typeof raw === 'string' && /^E[A-Z0-9_]{2,40}$/.test(raw) ? raw : undefined;
  let reason: string;
  let code: string | undefined;
  if (callerSignal?.aborted) {
    reason = 'aborted';
    code = 'ERR_CANCELED';
  } else if (deadline.aborted || errno === 'ETIMEDOUT' || errno === 'ECONNABORTED') {
    reason = 'timeout';
    code = 'ETIMEDOUT';
  } else {
    reason = errno ?? 'network_error';
    code = errno;
  }
  // A refused connection never reached the server; anything else on a write is ambiguous.
  return { ...facts, reason, code, timeoutMs, outcomeUnknown: facts.write && reason !== 'ECONNREFUSED' };
}
