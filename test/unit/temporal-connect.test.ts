import pino from 'pino';
import { Writable } from 'node:stream';
import { backoffDelayMs, ConnectAbortedError, retryConnect } from '../../src/temporal-connect';

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, dest), lines };
}

describe('retryConnect', () => {
  it('keeps trying with doubling, capped waits, logging every failed try, until the connection succeeds', async () => {
    const { logger, lines } = capturingLogger();
    const waits: number[] = [];
    let calls = 0;
    const result = await retryConnect(
      async () => {
        calls++;
        if (calls < 6) throw new Error('connect ECONNREFUSED 127.0.0.1:7233');
        return 'connected';
      },
      {
        logger,
        target: 'Temporal at 127.0.0.1:7233',
        initialDelayMs: 100,
        maxDelayMs: 1000,
        sleep: async (ms) => void waits.push(ms),
      },
    );
    expect(result).toBe('connected');
    expect(waits).toEqual([100, 200, 400, 800, 1000]);
    const retries = lines.filter((l) => l.msg === 'Temporal at 127.0.0.1:7233 unreachable; retrying');
    expect(retries.map((l) => l.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(retries[0]).toMatchObject({ retryInMs: 100, err: 'connect ECONNREFUSED 127.0.0.1:7233' });
    expect(lines.at(-1)).toMatchObject({ msg: 'connected to Temporal at 127.0.0.1:7233', attempt: 6 });
  });

  it('stops when asked (a SIGTERM during start-up) instead of retrying forever', async () => {
    const { logger } = capturingLogger();
    const stop = new AbortController();
    let calls = 0;
    const attempt = retryConnect(
      async () => {
        if (++calls === 3) stop.abort();
        throw new Error('unreachable');
      },
      { logger, target: 'Temporal', signal: stop.signal, sleep: async () => undefined },
    );
    await expect(attempt).rejects.toBeInstanceOf(ConnectAbortedError);
    expect(calls).toBe(3);
  });

  it('computes the backoff without overflowing on long outages', () => {
    expect(backoffDelayMs(1, 500, 30_000)).toBe(500);
    expect(backoffDelayMs(7, 500, 30_000)).toBe(30_000);
    expect(backoffDelayMs(10_000, 500, 30_000)).toBe(30_000);
  });
});
