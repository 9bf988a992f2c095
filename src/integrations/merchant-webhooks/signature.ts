/**
 * Signatures of outbound merchant webhooks: HMAC-SHA256 over `${timestamp}.${body}` (timestamp in unix seconds),
 * sent as `Billing-Signature: t=<ts>,v1=<hex>[,v1=<hex>...]`. While a secret rotates, the sender signs with every
 * active secret and the header carries one `v1` per secret; a receiver accepts the event if any `v1` matches any of
 * its secrets. The timestamp bounds replays: receivers reject events older (or newer) than a tolerance, 300 s by
 * default.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Billing-Signature';
export const EVENT_ID_HEADER = 'Billing-Event-Id';
export const EVENT_TYPE_HEADER = 'Billing-Event-Type';
export const DEFAULT_TOLERANCE_SEC = 300;

const HEX_SHA256 = /^[0-9a-f]{64}$/;

export type VerificationFailureReason =
  'missing_header' | 'malformed_header' | 'timestamp_outside_tolerance' | 'no_matching_signature';

export type MerchantWebhookVerification =
  { ok: true; timestamp: number } | { ok: false; reason: VerificationFailureReason };

export interface VerifyMerchantWebhookInput {
  /** The request body exactly as received (before any JSON parsing). */
  rawBody: string | Buffer;
  /** The `Billing-Signature` header value. */
  header: string | undefined;
  /** Every secret currently accepted (old and new while rotating). Empty strings are ignored. */
  secrets: readonly string[];
  /** Maximum distance between the signed timestamp and now, in seconds; default 300. */
  toleranceSec?: number;
  /** Current unix time in seconds; defaults to the system clock. */
  nowSec?: number;
}

function hmacHex(secret: string, timestampSec: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSec}.`, 'utf8').update(body).digest('hex');
}

/**
 * The `Billing-Signature` header value for `body` at `timestampSec`: one `v1` per secret (pass several while
 * rotating). Throws a TypeError (which never contains a secret) on an empty secret or a bad timestamp.
 */
export function signPayload(body: string, secret: string | readonly string[], timestampSec: number): string {
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) {
    throw new TypeError(`timestampSec: must be a non-negative integer number of unix seconds (got ${timestampSec})`);
  }
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new TypeError('secret: every signing secret must be a non-empty string');
  }
  return [`t=${timestampSec}`, ...secrets.map((s) => `v1=${hmacHex(s, timestampSec, body)}`)].join(',');
}

interface ParsedHeader {
  timestamp: number;
  signatures: Buffer[];
}

/** Parses `t=<digits>,v1=<hex>,...`; unknown schemes (`v0=`...) are ignored, as are `v1` values that are not hex. */
function parseSignatureHeader(header: string): ParsedHeader | undefined {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  let v1Count = 0;
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) return undefined;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,15}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1') {
      v1Count += 1;
      const lower = value.toLowerCase();
      if (HEX_SHA256.test(lower)) signatures.push(Buffer.from(lower, 'hex'));
    }
  }
  if (timestamp === undefined || v1Count === 0) return undefined;
  return { timestamp, signatures };
}

/**
 * Verifies a received merchant webhook. Checks, in order: the header is present, it parses, its timestamp is within
 * the tolerance of now (both directions), and one of its `v1` signatures equals the HMAC under one of `secrets`
 * (constant-time comparison).
 */
export function verifyMerchantWebhook(input: VerifyMerchantWebhookInput): MerchantWebhookVerification {
  const { rawBody, header, secrets } = input;
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing_header' };
  const parsed = parseSignatureHeader(header);
  if (parsed === undefined) return { ok: false, reason: 'malformed_header' };

  const toleranceSec = input.toleranceSec ?? DEFAULT_TOLERANCE_SEC;
  const nowSec = input.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(nowSec - parsed.timestamp) > toleranceSec) return { ok: false, reason: 'timestamp_outside_tolerance' };

  let matched = false;
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length === 0) continue;
    const expected = Buffer.from(hmacHex(secret, parsed.timestamp, rawBody), 'hex');
    for (const candidate of parsed.signatures) {
      // Both are 32 bytes (the parser only keeps 64-hex-digit values), as timingSafeEqual requires.
      if (timingSafeEqual(expected, candidate)) matched = true;
    }
  }
  return matched ? { ok: true, timestamp: parsed.timestamp } : { ok: false, reason: 'no_matching_signature' };
}
