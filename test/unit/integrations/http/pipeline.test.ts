/** The shared JSON-over-HTTP pipeline against a real local server: abort, deadline, redaction, error shape. */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { z } from 'zod';
import {
  describedFailures,
  HttpPipeline,
  type IntegrationError,
  isIntegrationError,
  redactor,
  type Logger,
} from '../../../../src/integrations/http';

const SECRET = 'sk_pipeline_secret_0123456789';

let server: Server;
let baseUrl: string;
const hanging = new Set<ServerResponse>();
let received = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    received++;
    const url = req.url ?? '';
    if (url.startsWith('/hang')) {
      hanging.add(res);
      return;
    }
    if (url.startsWith('/echo-secret')) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `bad key ${SECRET}` }));
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ ok: true, auth: req.headers.authorization }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function pipeline(timeoutMs = 2000): { http: HttpPipeline; lines: string[] } {
  const lines: string[] = [];
  const at = (obj: Record<string, unknown>, msg?: string): void =>
    void lines.push(`${JSON.stringify(obj)} ${msg ?? ''}`);
  const logger: Logger = { debug: at, info: at, warn: at, error: at };
  const redact = redactor({ secrets: [SECRET] });
  const http = new HttpPipeline({
    integration: 'test',
    baseUrl,
    timeoutMs,
    logger,
    redact,
    authenticate: ({ headers }) => {
      headers.Authorization = `Bearer ${SECRET}`;
    },
    failures: describedFailures({
      source: 'gormic',
      label: 'Test',
      traits: {
        Transient: { retryable: true, businessOutcome: false },
        Unexpected: { retryable: false, businessOutcome: false },
      },
      transientKind: 'Transient',
      unexpectedKind: 'Unexpected',
      classify: (a) => ({ kind: a.status >= 500 ? 'Transient' : 'Unexpected', detail: a.text }),
      redact,
    }),
  });
  return { http, lines };
}

async function failure(p: Promise<unknown>): Promise<IntegrationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isIntegrationError(err)) throw new Error(`expected an IntegrationError, got ${inspect(err)}`);
  return err;
}

describe('HttpPipeline', () => {
  it('adds credentials per request and parses the answer with zod', async () => {
    const { http } = pipeline();
    const body = await http.request(
      { operation: 'ping', method: 'GET', path: '/ok', write: false },
      z.object({ ok: z.literal(true), auth: z.string() }),
    );
    expect(body.auth).toBe(`Bearer ${SECRET}`);
  });

  it("the caller's AbortSignal aborts a request at once: Transient, reason aborted, outcome unknown on a write", async () => {
    const { http } = pipeline(10_000);
    const controller = new AbortController();
    const started = Date.now();
    const pending = failure(
      http.send({
        operation: 'hang',
        method: 'POST',
        path: '/hang',
        body: '{}',
        write: true,
        signal: controller.signal,
      }),
    );
    setTimeout(() => controller.abort(), 50);
    const err = await pending;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toMatchObject({ source: 'gormic', kind: 'Transient', retryable: true, outcomeUnknown: true });
    expect(err.message).toContain('cancelled');
  });

  it('an already aborted signal sends nothing', async () => {
    const { http } = pipeline();
    const before = received;
    const err = await failure(
      http.send({ operation: 'ping', method: 'GET', path: '/ok', write: false, signal: AbortSignal.abort() }),
    );
    expect(err.kind).toBe('Transient');
    expect(received).toBe(before);
  });

  it('the deadline covers the whole request', async () => {
    const { http } = pipeline(200);
    const err = await failure(http.send({ operation: 'hang', method: 'GET', path: '/hang', write: false }));
    expect(err).toMatchObject({ kind: 'Transient', outcomeUnknown: false, code: 'ETIMEDOUT' });
    expect(err.message).toContain('no response within 200 ms');
  });

  it('redacts secrets from errors and log lines; the guard reads a brand, not the class', async () => {
    const { http, lines } = pipeline();
    const err = await failure(
      http.send({ operation: 'echo', method: 'POST', path: '/echo-secret', body: '{}', write: true }),
    );
    expect(err).toMatchObject({ kind: 'Transient', httpStatus: 500, outcomeUnknown: true });
    for (const text of [
      err.message,
      String(err.stack),
      JSON.stringify(err),
      inspect(err, { showHidden: true }),
      ...lines,
    ]) {
      expect(text).not.toContain(SECRET);
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(isIntegrationError(err, 'gormic')).toBe(true);
    expect(isIntegrationError(err, 'qorepay')).toBe(false);
    expect(isIntegrationError({ ...err, kind: 'Transient', source: 'gormic' })).toBe(false);
  });
});
