/**
 * QorePay webhook signatures: `X-Signature` is base64 of an RSA PKCS#1 v1.5 signature over the SHA-256 digest of
 * the raw request body. Verify the exact bytes received, before any JSON parsing.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { silentLogger, type Logger } from '../http';
import { parseWebhookEvent, type QorePayWebhookEvent } from './schemas';

const keyCache = new Map<string, KeyObject | null>();

function publicKeyOf(pem: string): KeyObject | null {
  const normalised = pem.replace(/\\n/g, '\n').trim();
  if (keyCache.has(normalised)) return keyCache.get(normalised) ?? null;
  let key: KeyObject | null;
  try {
    key = createPublicKey(normalised);
  } catch {
    key = null;
  }
  if (keyCache.size > 64) keyCache.clear();
  keyCache.set(normalised, key);
  return key;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** True when `signatureB64` is a valid signature of `rawBody` under any of the given PEM public keys. */
export function verifyQorePaySignature(
  rawBody: Buffer,
  signatureB64: string | undefined,
  publicKeysPem: string[],
): boolean {
  if (!signatureB64) return false;
  const compact = signatureB64.trim();
  if (compact === '' || !BASE64.test(compact)) return false;
  const signature = Buffer.from(compact, 'base64');
  for (const pem of publicKeysPem) {
    const key = publicKeyOf(pem);
    if (!key) continue;
    try {
      if (verify('sha256', rawBody, key, signature)) return true;
    } catch {
      // a malformed signature for this key type: try the next key
    }
  }
  return false;
}

export interface QorePayWebhookVerifierOptions {
  /** Fetches the company-wide key (`QorePayClient.getPublicKey`). Called lazily, and again once on a failure. */
  fetchCompanyKey: () => Promise<string>;
  /** Public keys of account webhooks (`POST /webhooks/` answers carry them). */
  webhookKeys?: string[];
  logger?: Logger;
  /**
   * A signature that does not verify with the cached company key fetches the key again (rotation), but at most once
   * per this interval, so a flood of forged requests cannot turn into a flood of key fetches. Default 60 s; a
   * genuine webhook refused meanwhile is retried by the gateway.
   */
  minKeyRefreshIntervalMs?: number;
  /** Clock for the interval (tests). Default Date.now. */
  now?: () => number;
}

export type WebhookVerification =
  | { ok: true; event: QorePayWebhookEvent }
  | { ok: false; reason: 'missing_signature' | 'bad_signature' | 'invalid_body' };

/**
 * Verifies webhook deliveries against the account webhook keys and the company key. The company key is cached;
 * when a signature does not verify with the cached key, the key is fetched again (key rotation), at most once per
 * `minKeyRefreshIntervalMs`, and the check retried. A failure to fetch the key rejects (answer 5xx so the gateway
 * retries later).
 */
export class QorePayWebhookVerifier {
  private companyKey: string | undefined;
  private inFlight: Promise<string> | undefined;
  private readonly webhookKeys: string[];
  private readonly logger: Logger;
  private readonly minRefreshIntervalMs: number;
  private readonly now: () => number;
  private lastFetchAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: QorePayWebhookVerifierOptions) {
    this.webhookKeys = [...(options.webhookKeys ?? [])];
    this.logger = options.logger ?? silentLogger;
    this.minRefreshIntervalMs = options.minKeyRefreshIntervalMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  async verify(rawBody: Buffer, signatureHeader: string | string[] | undefined): Promise<WebhookVerification> {
    const signature = Array.isArray(signatureHeader) ? signatureHeader[0] : signatureHeader;
    if (!signature || signature.trim() === '') return { ok: false, reason: 'missing_signature' };

    let verified = verifyQorePaySignature(rawBody, signature, this.webhookKeys);
    if (!verified) {
      const hadCachedKey = this.companyKey !== undefined;
      const key = this.companyKey ?? (await this.refreshCompanyKey());
      verified = verifyQorePaySignature(rawBody, signature, [key]);
      if (!verified && hadCachedKey && this.now() - this.lastFetchAt >= this.minRefreshIntervalMs) {
        const fresh = await this.refreshCompanyKey();
        if (fresh !== key) {
          this.logger.info({}, 'qorepay webhook: company public key changed');
          verified = verifyQorePaySignature(rawBody, signature, [fresh]);
        }
      }
    }
    if (!verified) {
      this.logger.warn({ bytes: rawBody.length }, 'qorepay webhook: signature does not verify');
      return { ok: false, reason: 'bad_signature' };
    }
    try {
      return { ok: true, event: parseWebhookEvent(JSON.parse(rawBody.toString('utf8')) as unknown) };
    } catch {
      this.logger.warn({ bytes: rawBody.length }, 'qorepay webhook: verified body is not a known event');
      return { ok: false, reason: 'invalid_body' };
    }
  }

  /** Fetches the company key now (deduplicating concurrent refreshes). */
  async refreshCompanyKey(): Promise<string> {
    if (!this.inFlight) {
      this.lastFetchAt = this.now();
      this.inFlight = this.options
        .fetchCompanyKey()
        .then((pem) => {
          this.companyKey = pem;
          return pem;
        })
        .finally(() => {
          this.inFlight = undefined;
        });
    }
    return this.inFlight;
  }
}
