import { apiKeyHash, CACHED_WORKFLOW_KIB, ConfigError, loadConfig, workflowCacheSize } from '../../src/config';

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
      { id: 'key-1', merchantId: 'default', sha256: apiKeyHash('k1'), scopes: ['merchant'], settlement: {} },
      { id: 'key-2', merchantId: 'default', sha256: apiKeyHash('k2'), scopes: ['merchant'], settlement: {} },
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

describe('API keys', () => {
  const PROD = {
    NODE_ENV: 'production',
    PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    DATABASE_URL: 'postgres://billing:pw@db:5432/billing',
    CONSOLE_SESSION_KEY: Buffer.alloc(32, 9).toString('base64'),
  };

  it('plain API_KEYS are merchant keys of merchant default, with no settlement accounts', () => {
    expect(loadConfig({ API_KEYS: 'k1' }).API_KEYS).toEqual([
      { id: 'key-1', merchantId: 'default', sha256: apiKeyHash('k1'), scopes: ['merchant'], settlement: {} },
    ]);
  });

  it('OPERATOR_API_KEYS are operator keys, named so', () => {
    expect(loadConfig({ OPERATOR_API_KEYS: 'o1, o2' }).OPERATOR_API_KEYS).toEqual([
      {
        id: 'operator-1',
        merchantId: 'default',
        sha256: apiKeyHash('o1'),
        scopes: ['merchant', 'operator'],
        settlement: 'any',
      },
      {
        id: 'operator-2',
        merchantId: 'default',
        sha256: apiKeyHash('o2'),
        scopes: ['merchant', 'operator'],
        settlement: 'any',
      },
    ]);
    expect(() => loadConfig({ API_KEYS: 'same', OPERATOR_API_KEYS: 'same' })).toThrow(
      /OPERATOR_API_KEYS: operator-1 is also in API_KEYS/,
    );
  });

  it('refuses keys shorter than 32 characters under NODE_ENV=production, one line per variable, never the key', () => {
    const long = 'x'.repeat(32);
    let err: unknown;
    try {
      loadConfig({
        ...PROD,
        QOREPAY_BASE_URL: 'https://gate.qorepay.example/api/v1',
        API_KEYS: `${long},short-key-1`,
        OPERATOR_API_KEYS: 'short-op',
        CODEC_API_KEYS: 'short-codec',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.filter((p) => /_API_KEYS|^API_KEYS/.test(p));
    expect(problems).toEqual([
      'API_KEYS: key-2 is 11 characters; keys must be at least 32 characters when NODE_ENV=production',
      'OPERATOR_API_KEYS: operator-1 is 8 characters; keys must be at least 32 characters when NODE_ENV=production',
      'CODEC_API_KEYS: key 1 is 11 characters; keys must be at least 32 characters when NODE_ENV=production',
    ]);
    expect((err as Error).message).not.toMatch(/short-key-1|short-op|short-codec/);
    // Outside production short keys still work (tests, npm start).
    expect(loadConfig({ API_KEYS: 'short' }).API_KEYS).toHaveLength(1);
  });
});

describe('NODE_ENV=production refuses development settings, one line each', () => {
  const payloadKey = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
  const prod = {
    NODE_ENV: 'production',
    PAYLOAD_KEYS: payloadKey,
    QOREPAY_BASE_URL: 'https://gate.qorepay.example/api/v1',
    QOREPAY_API_KEY: 'sk_live_0123456789',
    DATABASE_URL: 'postgres://billing:pw@db:5432/billing',
    CONSOLE_SESSION_KEY: Buffer.alloc(32, 9).toString('base64'),
  };
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };

  it('accepts a production configuration with https endpoints', () => {
    expect(problemsOf(prod)).toEqual([]);
  });

  it.each([
    ['the sandbox service', 'http://qorepay-sandbox:7480/api/v1'],
    ['a loopback https URL', 'https://127.0.0.1:15001/api/v1'],
    ['localhost', 'https://localhost/api/v1'],
    ['cleartext http', 'http://gate.qorepay.example/api/v1'],
  ])('refuses %s as the gateway', (_what, url) => {
    const problems = problemsOf({ ...prod, QOREPAY_BASE_URL: url });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^QOREPAY_BASE_URL: .* refused when NODE_ENV=production/);
  });

  it('refuses sandbox, loopback and http: settlement and merchant webhook URLs, naming each variable', () => {
    const problems = problemsOf({
      ...prod,
      ACTIVEPLATFORM_BASE_URL: 'http://activeplatform.example',
      ACTIVEPLATFORM_API_TOKEN: 't',
      GORMIC_BASE_URL: 'https://127.0.0.1:7482',
      GORMIC_API_KEY: 'g',
      GORMIC_ORGANIZATION_ID: 'o',
      MERCHANT_WEBHOOK_URL: 'http://merchant.example/hook',
      MERCHANT_WEBHOOK_SECRET: 'x'.repeat(32),
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'MERCHANT_WEBHOOK_URL',
      'ACTIVEPLATFORM_BASE_URL',
      'GORMIC_BASE_URL',
    ]);
  });

  it('refuses minute schedules even against a loopback gateway (an egress proxy)', () => {
    const problems = problemsOf({ ...prod, DEV_MINUTE_SCHEDULES: 'true' });
    expect(problems).toEqual([
      'DEV_MINUTE_SCHEDULES: refused when NODE_ENV=production (minute schedules are for development)',
    ]);
  });

  it("refuses the sandbox's default QorePay key", () => {
    const { QOREPAY_API_KEY: _unset, ...noKey } = prod;
    expect(problemsOf(noKey)).toEqual([
      "QOREPAY_API_KEY: required when NODE_ENV=production (the default is the sandbox's)",
    ]);
  });

  it('refuses the public development payload key', () => {
    expect(problemsOf({ ...prod, PAYLOAD_KEYS: '' })).toEqual([
      'PAYLOAD_KEYS: required when NODE_ENV=production (e.g. `k1:$(openssl rand -base64 32)`)',
    ]);
  });
});

describe('DATABASE_URL (the records store)', () => {
  it('is required in production and must be a postgres URL, named in the error', () => {
    const prod = {
      NODE_ENV: 'production',
      PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
      QOREPAY_BASE_URL: 'https://gate.qorepay.example/api/v1',
      QOREPAY_API_KEY: 'sk_live_0123456789',
      CONSOLE_SESSION_KEY: Buffer.alloc(32, 9).toString('base64'),
    } as const;
    expect(() => loadConfig(prod)).toThrow(/DATABASE_URL: required when NODE_ENV=production/);
    expect(() => loadConfig({ ...prod, DATABASE_URL: 'mysql://x@y/z' })).toThrow(
      /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/,
    );
    expect(loadConfig({ ...prod, DATABASE_URL: 'postgresql://billing:pw@db:5432/billing' }).DATABASE_URL).toBe(
      'postgresql://billing:pw@db:5432/billing',
    );
  });
});

describe('the worker cache size', () => {
  it('comes from the memory budget over the measured per-run cost, unless set outright', () => {
    const byDefault = loadConfig({});
    expect(workflowCacheSize(byDefault)).toBe(Math.floor((96 * 1024) / CACHED_WORKFLOW_KIB));
    expect(workflowCacheSize(loadConfig({ WORKER_WORKFLOW_CACHE_MIB: '300' }))).toBe(1024);
    expect(workflowCacheSize(loadConfig({ WORKER_WORKFLOW_CACHE_MIB: '300', WORKER_MAX_CACHED_WORKFLOWS: '40' }))).toBe(
      40,
    );
    expect(workflowCacheSize(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '0' }))).toBe(0);
  });

  it('refuses a budget or size that is not a whole number, naming the variable', () => {
    expect(() => loadConfig({ WORKER_WORKFLOW_CACHE_MIB: '0.5' })).toThrow(/WORKER_WORKFLOW_CACHE_MIB/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '-1' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS/);
  });
});
