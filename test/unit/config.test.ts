import { apiKeyHash, ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('has working defaults for the embedded stack', () => {
    const c = loadConfig({});
    expect(c.TEMPORAL_ADDRESS).toBe('127.0.0.1:7233');
    expect(c.temporal.namespace).toBe('default');
    expect(c.QOREPAY_BASE_URL).toBe('http://127.0.0.1:7480/api/v1');
    expect(c.API_KEYS).toEqual([]);
  });

  it('reports every problem on its own line, naming the variable, and never echoes secrets', () => {
    let err: unknown;
    try {
      loadConfig({
        API_PORT: '99999',
        QOREPAY_BASE_URL: 'ftp://gate',
        MERCHANT_WEBHOOK_URL: 'https://merchant.example/hooks',
        GORMIC_BASE_URL: 'https://gormic.example',
        QOREPAY_API_KEY: 'sk_live_super_secret',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems.some((p) => p.startsWith('API_PORT:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('QOREPAY_BASE_URL:'))).toBe(true);
    expect((err as Error).message).not.toContain('sk_live_super_secret');
  });

  it('checks settings that only make sense together', () => {
    expect(() => loadConfig({ MERCHANT_WEBHOOK_URL: 'https://merchant.example/hooks' })).toThrow(
      /MERCHANT_WEBHOOK_SECRET: required when MERCHANT_WEBHOOK_URL is set/,
    );
    expect(() => loadConfig({ GORMIC_BASE_URL: 'https://gormic.example' })).toThrow(/GORMIC_API_KEY/);
  });

  it('treats empty variables as unset and splits API keys', () => {
    const c = loadConfig({ MERCHANT_WEBHOOK_URL: '', API_KEYS: 'k1, k2,,' });
    expect(c.MERCHANT_WEBHOOK_URL).toBeUndefined();
    expect(c.API_KEYS).toEqual([
      {
        id: 'key-1',
        merchantId: 'default',
        sha256: apiKeyHash('k1'),
        scopes: ['merchant', 'operator'],
        settlement: 'any',
      },
      {
        id: 'key-2',
        merchantId: 'default',
        sha256: apiKeyHash('k2'),
        scopes: ['merchant', 'operator'],
        settlement: 'any',
      },
    ]);
  });
});

describe('DEV_MINUTE_SCHEDULES', () => {
  it('is accepted against the local sandbox and refused against any other QorePay', () => {
    expect(loadConfig({ DEV_MINUTE_SCHEDULES: 'true' }).DEV_MINUTE_SCHEDULES).toBe('true');
    expect(() =>
      loadConfig({ DEV_MINUTE_SCHEDULES: 'true', QOREPAY_BASE_URL: 'https://gate.qorepay.example/api/v1' }),
    ).toThrow(/DEV_MINUTE_SCHEDULES: only allowed against the local QorePay sandbox/);
    expect(loadConfig({}).DEV_MINUTE_SCHEDULES).toBe('false');
  });

  it('reads the reconciliation schedule: hourly over two days by default, durations validated and named', () => {
    const c = loadConfig({});
    expect(c.RECONCILIATION_SCHEDULE).toBe('true');
    expect(c.RECONCILIATION_INTERVAL).toBe(3_600_000);
    expect(c.RECONCILIATION_WINDOW).toBe(48 * 3_600_000);
    expect(loadConfig({ RECONCILIATION_INTERVAL: '15m', RECONCILIATION_WINDOW: '7d' })).toMatchObject({
      RECONCILIATION_INTERVAL: 15 * 60_000,
      RECONCILIATION_WINDOW: 7 * 86_400_000,
    });
    expect(() => loadConfig({ RECONCILIATION_INTERVAL: 'hourly' })).toThrow(
      /RECONCILIATION_INTERVAL: must be a duration such as 30m, 6h or 7d/,
    );
    expect(() => loadConfig({ RECONCILIATION_INTERVAL: '1m' })).toThrow(
      /RECONCILIATION_INTERVAL: must be between 5m and 7d/,
    );
    expect(() => loadConfig({ RECONCILIATION_INTERVAL: '1d', RECONCILIATION_WINDOW: '2h' })).toThrow(
      /RECONCILIATION_WINDOW: must be at least RECONCILIATION_INTERVAL/,
    );
    expect(() => loadConfig({ RECONCILIATION_SCHEDULE: 'yes' })).toThrow(/RECONCILIATION_SCHEDULE/);
  });
});

describe('DATABASE_URL (the records store)', () => {
  it('is required in production and must be a postgres URL, named in the error', () => {
    const prod = { NODE_ENV: 'production', PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` } as const;
    expect(() => loadConfig(prod)).toThrow(/DATABASE_URL: required when NODE_ENV=production/);
    expect(() => loadConfig({ ...prod, DATABASE_URL: 'mysql://x@y/z' })).toThrow(
      /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/,
    );
    expect(loadConfig({ ...prod, DATABASE_URL: 'postgresql://billing:pw@db:5432/billing' }).DATABASE_URL).toBe(
      'postgresql://billing:pw@db:5432/billing',
    );
  });
});
