import { startQorePaySandbox } from '../../../src/sandbox/qorepay';
import { tokenBucket } from '../../../src/sandbox/qorepay/rate-limit';

describe('sandbox rate limit', () => {
  it('token bucket: lets a burst through, refuses the next request, and refills at the configured rate', () => {
    let now = 0;
    const bucket = tokenBucket({ requestsPerSecond: 10, burst: 3 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now += 100; // one request's worth at 10/s
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    now += 10_000; // a long pause refills only up to the burst
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it('answers gateway calls above the limit with 429 and Retry-After, counts them, and leaves the control API alone', async () => {
    let limited = 0;
    const sandbox = await startQorePaySandbox({
      rateLimit: { requestsPerSecond: 0.001, burst: 1, onLimited: () => limited++ },
    });
    try {
      const first = await fetch(`${sandbox.baseUrl}/public_key/`);
      const second = await fetch(`${sandbox.baseUrl}/public_key/`);
      const control = await fetch(`${sandbox.origin}/__sandbox/health`);
      expect(first.status).toBe(200);
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(await second.json()).toEqual({ code: 'rate_limited', message: 'Too many requests.' });
      expect(control.status).toBe(200);
      expect(limited).toBe(1);
    } finally {
      await sandbox.close();
    }
  });
});

it('answers the control API index that npm start prints', async () => {
  const sandbox = await startQorePaySandbox({ apiKey: 'k' });
  try {
    const res = await fetch(`${sandbox.origin}/__sandbox/`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { endpoints: string[] };
    expect(body.endpoints).toContain('GET /__sandbox/ledger?reference=');
  } finally {
    await sandbox.close();
  }
});
