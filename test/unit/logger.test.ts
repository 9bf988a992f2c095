import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config';
import { createLogger, prettyDestination, temporalLoggerFor, wantsPrettyLogs } from '../../src/logger';

/** A writable that keeps what pino-pretty writes to it. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('log format', () => {
  it.each([
    ['auto', true, undefined, true],
    ['auto', true, 'development', true],
    ['auto', false, undefined, false], // a pipe, a file, CI
    ['auto', true, 'production', false],
    ['json', true, undefined, false],
    ['pretty', false, 'production', true],
  ] as const)('LOG_FORMAT=%s, stdout a terminal: %s, NODE_ENV=%s → pretty: %s', (format, tty, nodeEnv, pretty) => {
    expect(wantsPrettyLogs(format, tty, nodeEnv)).toBe(pretty);
  });

  it('reads LOG_FORMAT from the environment and names the variable when it is wrong', () => {
    expect(loadConfig({}).LOG_FORMAT).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'json' }).LOG_FORMAT).toBe('json');
    expect(() => loadConfig({ LOG_FORMAT: 'colourful' })).toThrow(/LOG_FORMAT/);
  });
});

describe('readable logs (pino-pretty)', () => {
  it('prints one readable line per entry, with secrets redacted as in JSON logs', async () => {
    const out = collector();
    const logger = createLogger({
      level: 'info',
      name: 'billing',
      destination: await prettyDestination({ colorize: false, destination: out.stream }),
    });
    logger.info(
      {
        apiKey: 'sk_live_top_level',
        headers: { authorization: 'Bearer sk_live_header' },
        qorepay: { secret: 'whsec_nested' },
        subscriptionId: 'sub_42',
      },
      'charge attempt answered',
    );
    logger.warn({ token: 'tok_success_secret_card' }, 'card token seen');
    const text = out.text();
    const lines = text.trimEnd().split('\n');
    // Readable, not JSON: the level word and the message on the first line of each entry.
    expect(lines[0]).toMatch(/INFO.*\(billing\): charge attempt answered$/);
    expect(text).toMatch(/WARN.*\(billing\): card token seen/);
    expect(() => JSON.parse(lines[0]!) as unknown).toThrow();
    expect(text).toContain('subscriptionId: "sub_42"');
    for (const secret of ['sk_live_top_level', 'sk_live_header', 'whsec_nested', 'tok_success_secret_card']) {
      expect(text).not.toContain(secret);
    }
    expect(text.match(/\[redacted\]/g)?.length).toBe(4);
  });

  it('routes Temporal Runtime log entries through the same pretty, redacting logger', async () => {
    const out = collector();
    const logger = createLogger({
      level: 'info',
      destination: await prettyDestination({ colorize: false, destination: out.stream }),
    });
    temporalLoggerFor(logger).warn('activity failed', { secret: 'whsec_from_activity', attempt: 2 });
    expect(out.text()).toMatch(/WARN.*activity failed/);
    expect(out.text()).toContain('attempt: 2');
    expect(out.text()).not.toContain('whsec_from_activity');
  });
});
