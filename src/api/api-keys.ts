/**
 * API keys as the HTTP adapter checks them: a spec per key (its SHA-256, never the key), and the two kinds of plain
 * key. Here, not in config, so the adapter needs no process config (config builds these from the environment).
 */
import { createHash } from 'node:crypto';
import type { SettlementAllowList } from '@temporal-billing/client/types';

/** What an API key may do: `merchant` (its own merchant's subscriptions), `operator` (mark-paid, retry-settlement,
 * and reads and changes across merchants). */
export const API_KEY_SCOPES = ['merchant', 'operator'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** An API key as configured: never the key itself, only its SHA-256 and an id to log. */
export interface ApiKeySpec {
  /** Logged with every change made with the key (never the key). */
  id: string;
  merchantId: string;
  /** Lower-case hex SHA-256 of the bearer key. */
  sha256: string;
  scopes: readonly ApiKeyScope[];
  /**
   * The settlement accounts this merchant's subscriptions may write to. Absent or `{}`: none (a JSON-configured key
   * must list them; plain API_KEYS have none); `'any'` for operator keys (OPERATOR_API_KEYS).
   */
  settlement?: SettlementAllowList | 'any';
}

export const DEFAULT_MERCHANT_ID = 'default';

/** The SHA-256 (hex) an API_KEYS entry stores for a key. */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * A plain API_KEYS key: a merchant key of merchant `default`, identified in logs as `key-N`. It has no operator scope
 * and names no settlement accounts (a subscription created with it may not settle anywhere): a key that may settle,
 * or that belongs to another merchant, is configured in the JSON form.
 */
export function plainMerchantKey(key: string, i: number): ApiKeySpec {
  return {
    id: `key-${i + 1}`,
    merchantId: DEFAULT_MERCHANT_ID,
    sha256: apiKeyHash(key),
    scopes: ['merchant'],
    settlement: {},
  };
}

/**
 * An OPERATOR_API_KEYS key, identified in logs as `operator-N`: every merchant's subscriptions, mark-paid,
 * retry-settlement, reconciliation sweeps, and any settlement account.
 */
export function plainOperatorKey(key: string, i: number): ApiKeySpec {
  return {
    id: `operator-${i + 1}`,
    merchantId: DEFAULT_MERCHANT_ID,
    sha256: apiKeyHash(key),
    scopes: ['merchant', 'operator'],
    settlement: 'any',
  };
}
