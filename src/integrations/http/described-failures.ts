/**
 * The usual failure mapping of a JSON API: one `IntegrationError` per failure, with a message naming the integration,
 * operation, method and path, and the integration's own say only on what an error answer means (`classify`).
 */
import { IntegrationError, type IntegrationSource, type KindTraits } from './errors';
import type { Logger } from '../../shared/logger';
import {
  HttpPipeline,
  type FailureMapper,
  type HttpAnswer,
  type HttpPipelineOptions,
  type RequestFacts,
  type TransportFailure,
} from './pipeline';
import { redactor, type Redact, type RedactorOptions } from './redact';

/** What an integration reads from a non-2xx answer. */
export interface StatusVerdict<K extends string> {
  kind: K;
  code?: string | undefined;
  /** Human detail from the body (it is redacted and cut to 300 characters). */
  detail?: string | undefined;
}

export interface DescribedFailuresOptions<K extends string> {
  source: IntegrationSource;
  /** How messages name the integration, e.g. `ActivePlatform`. */
  label: string;
  traits: KindTraits<K>;
  /** The kind of a request that got no answer (and of 408 / 5xx answers, which leave a write's outcome unknown). */
  transientKind?: K;
  /** The kind of a 2xx answer we cannot read. Default `Unexpected`. */
  unexpectedKind?: K;
  classify(answer: HttpAnswer): StatusVerdict<K>;
  redact: Redact;
}

export function describedFailures<K extends string>(o: DescribedFailuresOptions<K>): FailureMapper {
  const transientKind = o.transientKind ?? ('Transient' as K);
  const unexpectedKind = o.unexpectedKind ?? ('Unexpected' as K);
  const where = (f: RequestFacts): string => `${o.label} ${f.operation} ${f.method} ${f.path}`;
  const build = (kind: K, message: string, f: RequestFacts, extra: Partial<IntegrationError<K>>) =>
    new IntegrationError<K>({
      source: o.source,
      kind,
      message: o.redact(message),
      ...o.traits[kind],
      operation: f.operation,
      method: f.method,
      path: f.path,
      ...extra,
    });
  return {
    transport(f: TransportFailure) {
      const reason =
        f.reason === 'timeout'
          ? `no response within ${f.timeoutMs} ms`
          : f.reason === 'aborted'
            ? 'cancelled by the caller'
            : `network error ${f.reason}`;
      const unknown = f.outcomeUnknown ? ' (the write may have been applied: check before retrying)' : '';
      return build(transientKind, `${where(f)}: ${reason}${unknown}`, f, {
        code: f.code,
        outcomeUnknown: f.outcomeUnknown,
      });
    },
    status(f) {
      const { kind, code, detail } = o.classify(f.answer);
      const message =
        `${where(f)}: HTTP ${f.answer.status}` + (code ? ` ${code}` : '') + (detail ? `: ${detail.slice(0, 300)}` : '');
      return build(kind, message, f, {
        httpStatus: f.answer.status,
        code: code === undefined ? undefined : o.redact(code),
        outcomeUnknown: f.write && kind === transientKind,
        retryAfterMs: f.retryAfterMs,
      });
    },
    shape(f) {
      const message = `${o.label} ${f.operation}: HTTP ${f.status} with an unexpected body: ${f.detail}`;
      return build(unexpectedKind, message, f, { httpStatus: f.status, outcomeUnknown: f.outcomeUnknown });
    },
  };
}

/** Where and how to reach an API: what every client's options carry. */
export interface Connection {
  baseUrl: string;
  /** Default 15 000 ms. */
  timeoutMs?: number | undefined;
  logger?: Logger | undefined;
}

export interface DescribedApiOptions<K extends string> extends Omit<DescribedFailuresOptions<K>, 'redact'> {
  connection: Connection;
  /** What to scrub from every logged or thrown text (the credentials). */
  secrets: RedactorOptions;
  authenticate: NonNullable<HttpPipelineOptions['authenticate']>;
}

/** A pipeline for a JSON API whose failures are `describedFailures`: a client then only adds auth and encoding. */
export function describedApi<K extends string>(o: DescribedApiOptions<K>): HttpPipeline {
  const redact = redactor(o.secrets);
  return new HttpPipeline({
    integration: o.source,
    baseUrl: o.connection.baseUrl.replace(/\/+$/, ''),
    timeoutMs: o.connection.timeoutMs ?? 15_000,
    logger: o.connection.logger,
    redact,
    authenticate: o.authenticate,
    failures: describedFailures({ ...o, redact }),
  });
}
