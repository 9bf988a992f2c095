export { COMMON_ERROR_KINDS, IntegrationError, isIntegrationError, kindTraits, parseRetryAfter } from './errors';
export type { IntegrationErrorInit, IntegrationSource, KindTraits } from './errors';
export { describedApi, describedFailures } from './described-failures';
export type { Connection, DescribedApiOptions, StatusVerdict } from './described-failures';
export { silentLogger } from '../../shared/logger';
export type { Logger } from '../../shared/logger';
export { HttpPipeline } from './pipeline';
export type {
  CallOptions,
  FailureMapper,
  HttpAnswer,
  HttpMethod,
  HttpPipelineOptions,
  HttpRequest,
  RequestFacts,
  ShapeFailure,
  StatusFailure,
  TransportFailure,
} from './pipeline';
export { noRedaction, redactor } from './redact';
export type { Redact, RedactorOptions } from './redact';
