/**
 * The sender against a real HTTP receiver (node:http on port 0) that verifies every delivery with
 * verifyMerchantWebhook, exactly as a merchant's endpoint would.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import {
  type MerchantEvent,
  type MerchantWebhookVerification,
  MERCHANT_EVENT_TYPES,
  MerchantWebhookError,
  MerchantWebhookSender,
  asMerchantNotifier,
  isMerchantWebhookError,
  verifyMerchantWebhook,
} from '../../../../src/integrations/merchant-webhooks';
import type { MerchantNotifier } from '../../../../src/activities/notify';
import { capturingLogger } from '../../../support/capture';

const SECRET = 'whsec_live_9c0ffee5ecret_do_not_log';
const NEXT_SECRET = 'whsec_live_rotated_11aa22bb33cc';

interface Delivery {
  headers: IncomingMessage['headers'];
  rawBody: string;
  verification: MerchantWebhookVerification;
}

type Respond = (d: Delivery) => { status: number; body?: string } | 'hang';

interface Receiver {
  url: string;
  deliveries: Delivery[];
  respond: Respond;
  secrets: string[];
  close(): Promise<void>;
}

/** Verifies with the receiver's secrets and the real clock; 400 on a bad signature unless `respond` says otherwise. */
const verifyingResponder: Respond = (d) =>
  d.verification.ok ? { status: 200, body: '{"received":true}' } : { status: 400, body: d.verification.reason };

async function startReceiver(secrets: string[]): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const receiver: Receiver = {
    url: '',
    deliveries: [],
    respond: verifyingResponder,
    secrets,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const header = req.headers['billing-signature'];
      const delivery: Delivery = {
        headers: req.headers,
        rawBody: raw.toString('utf8'),
        verification: verifyMerchantWebhook({
          rawBody: raw,
          header: Array.isArray(header) ? header[0] : header,
          secrets: receiver.secrets,
        }),
      };
      receiver.deliveries.push(delivery);
      const answer = receiver.respond(delivery);
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, { 'Content-Type': 'text/plain' });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/billing`;
  return receiver;
}

let seq = 0;
function event(overrides: Partial<MerchantEvent> = {}): MerchantEvent {
  seq += 1;
  return {
    id: `cycle:sub_${seq}:0:notify-paid`,
    type: 'cycle.paid',
    createdAt: '2027-03-01T08:00:00.000Z',
    subscriptionId: `sub_${seq}`,
    cycleId: `cycle:sub_${seq}:0`,
    data: { amount: 1999, currency: 'EUR', customer: 'Bjørn' },
    ...overrides,
  };
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

async function sendError(p: Promise<unknown>): Promise<MerchantWebhookError> {
  try {
    await p;
  } catch (err) {
    if (isMerchantWebhookError(err)) return err;
    throw err;
  }
  throw new Error('expected the send to fail');
}

function expectNoSecret(text: string): void {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(NEXT_SECRET);
}

describe('MerchantWebhookSender over real HTTP', () => {
  let receiver: Receiver;

  beforeEach(async () => {
    receiver = await startReceiver([SECRET]);
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('delivers a signed event the receiver verifies, with the event id and JSON body', async () => {
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET, userAgent: 'billing-test/1' });
    const e = event();
    const ts = nowSec();
    await expect(sender.send(e, ts)).resolves.toEqual({ status: 200 });

    expect(receiver.deliveries).toHaveLength(1);
    const d = receiver.deliveries[0]!;
    expect(d.verification).toEqual({ ok: true, timestamp: ts });
    expect(d.headers['content-type']).toBe('application/json');
    expect(d.headers['billing-event-id']).toBe(e.id);
    expect(d.headers['billing-event-type']).toBe('cycle.paid');
    expect(d.headers['user-agent']).toBe('billing-test/1');
    expect(d.headers['billing-signature']).toMatch(new RegExp(`^t=${ts},v1=[0-9a-f]{64}$`));
    expect(JSON.parse(d.rawBody)).toEqual(e);
  });

  it('signs with the system clock when no nowSec is given', async () => {
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET });
    await expect(sender.send(event())).resolves.toEqual({ status: 200 });
    expect(receiver.deliveries[0]!.verification.ok).toBe(true);
  });

  it('the receiver rejects a tampered body (same signature header, changed amount)', async () => {
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET });
    await sender.send(event(), nowSec());
    const genuine = receiver.deliveries[0]!;
    const tampered = genuine.rawBody.replace('"amount":1999', '"amount":1');
    expect(tampered).not.toBe(genuine.rawBody);

    const status = await new Promise<number>((resolve, reject) => {
      const req = request(receiver.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'billing-signature': genuine.headers['billing-signature'],
          'billing-event-id': genuine.headers['billing-event-id'],
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(tampered);
    });
    expect(status).toBe(400);
    expect(receiver.deliveries[1]!.verification).toEqual({ ok: false, reason: 'no_matching_signature' });
  });

  it('an event signed more than 300 s ago is rejected by the receiver (and the sender reports Rejected)', async () => {
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET });
    const err = await sendError(sender.send(event(), nowSec() - 301));
    expect(receiver.deliveries[0]!.verification).toEqual({ ok: false, reason: 'timestamp_outside_tolerance' });
    expect(err.kind).toBe('Rejected');
    expect(err.retryable).toBe(false);
    expect(err.httpStatus).toBe(400);
    expect(err.message).toContain('timestamp_outside_tolerance'); // the receiver's answer, for humans
  });

  it('a secret being rotated: the sender signs with both, receivers on either secret accept', async () => {
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: [NEXT_SECRET, SECRET] });
    receiver.secrets = [SECRET]; // merchant not yet switched
    await expect(sender.send(event(), nowSec())).resolves.toEqual({ status: 200 });
    receiver.secrets = [NEXT_SECRET]; // merchant switched
    await expect(sender.send(event(), nowSec())).resolves.toEqual({ status: 200 });
    receiver.secrets = ['whsec_someone_else'];
    await expect(sender.send(event(), nowSec())).rejects.toMatchObject({ kind: 'Rejected', httpStatus: 400 });
    expect(receiver.deliveries.map((d) => d.verification.ok)).toEqual([true, true, false]);
    expect(String(receiver.deliveries[0]!.headers['billing-signature']).match(/v1=/g)).toHaveLength(2);
  });

  it('a receiver accepting old and new secrets verifies a sender still on the old one', async () => {
    receiver.secrets = [NEXT_SECRET, SECRET];
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET });
    await expect(sender.send(event(), nowSec())).resolves.toEqual({ status: 200 });
  });

  it.each<[number, 'ok' | 'Transient' | 'Rejected']>([
    [200, 'ok'],
    [201, 'ok'],
    [204, 'ok'],
    [301, 'Rejected'],
    [400, 'Rejected'],
    [401, 'Rejected'],
    [404, 'Rejected'],
    [410, 'Rejected'],
    [422, 'Rejected'],
    [408, 'Transient'],
    [409, 'Transient'],
    [429, 'Transient'],
    [500, 'Transient'],
    [502, 'Transient'],
    [503, 'Transient'],
  ])('HTTP %i -> %s', async (status, expected) => {
    receiver.respond = () => ({ status, body: `status ${status}` });
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET });
    const e = event();
    if (expected === 'ok') {
      await expect(sender.send(e, nowSec())).resolves.toEqual({ status });
      return;
    }
    const err = await sendError(sender.send(e, nowSec()));
    expect(err).toBeInstanceOf(MerchantWebhookError);
    expect(err.kind).toBe(expected);
    expect(err.retryable).toBe(expected === 'Transient');
    expect(err.httpStatus).toBe(status);
    expect(err.reason).toBe(`http_${status}`);
    expect(err.eventId).toBe(e.id);
    expect(receiver.deliveries).toHaveLength(1); // the sender itself never retries: the activity does
  });

  it('a receiver that never answers -> Transient timeout', async () => {
    receiver.respond = () => 'hang';
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET, timeoutMs: 250 });
    const err = await sendError(sender.send(event(), nowSec()));
    expect(err.kind).toBe('Transient');
    expect(err.retryable).toBe(true);
    expect(err.reason).toBe('timeout');
    expect(err.httpStatus).toBeUndefined();
    expect(receiver.deliveries).toHaveLength(1);
  });

  it('nobody listening -> Transient network error', async () => {
    const url = receiver.url;
    await receiver.close();
    const sender = new MerchantWebhookSender({ url, secret: SECRET });
    const err = await sendError(sender.send(event(), nowSec()));
    expect(err.kind).toBe('Transient');
    expect(err.reason).toBe('ECONNREFUSED');
    receiver = await startReceiver([SECRET]); // for afterEach
  });

  it('an unknown event type or a missing id is an InvalidEvent, not sent', async () => {
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET });
    const bad = await sendError(sender.send(event({ type: 'cycle.exploded' as MerchantEvent['type'] }), nowSec()));
    expect(bad).toMatchObject({ kind: 'InvalidEvent', retryable: false, reason: 'unknown_event_type' });
    const noId = await sendError(sender.send(event({ id: '' }), nowSec()));
    expect(noId).toMatchObject({ kind: 'InvalidEvent', retryable: false, reason: 'missing_id' });
    expect(receiver.deliveries).toHaveLength(0);
  });

  it('sends every event type', async () => {
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET });
    for (const type of MERCHANT_EVENT_TYPES) await sender.send(event({ type }), nowSec());
    expect(receiver.deliveries.map((d) => d.headers['billing-event-type'])).toEqual([...MERCHANT_EVENT_TYPES]);
    expect(receiver.deliveries.every((d) => d.verification.ok)).toBe(true);
  });

  it('never puts a secret (nor the URL query token) into errors or logs', async () => {
    const { lines, logger } = capturingLogger();
    const url = `${receiver.url}?token=${NEXT_SECRET}`;
    const sender = new MerchantWebhookSender({ url, secret: [SECRET, NEXT_SECRET], logger, timeoutMs: 250 });
    const errors: MerchantWebhookError[] = [];

    // A receiver that echoes everything it got back, including the signature header.
    receiver.respond = (d) => ({ status: 400, body: `${SECRET} ${JSON.stringify(d.headers)}` });
    errors.push(await sendError(sender.send(event(), nowSec())));
    receiver.respond = () => ({ status: 503, body: NEXT_SECRET });
    errors.push(await sendError(sender.send(event(), nowSec())));
    receiver.respond = () => 'hang';
    errors.push(await sendError(sender.send(event(), nowSec())));
    receiver.respond = verifyingResponder;
    receiver.secrets = [SECRET];
    await sender.send(event(), nowSec());

    expect(errors.map((e) => e.kind)).toEqual(['Rejected', 'Transient', 'Transient']);
    for (const err of errors) {
      expectNoSecret(err.message);
      expectNoSecret(String(err.stack));
      expectNoSecret(JSON.stringify(err));
      expectNoSecret(inspect(err, { depth: 10, showHidden: true }));
      expect(err.endpoint).toBe(receiver.url); // query string dropped
    }
    expect(errors[0]!.message).toContain('[redacted]');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) expectNoSecret(JSON.stringify(line));
    expectNoSecret(JSON.stringify(sender));
    expectNoSecret(inspect(sender, { depth: 10, showHidden: true }));
  });

  it('validates its configuration without echoing secrets', () => {
    expect(() => new MerchantWebhookSender({ url: 'not a url', secret: SECRET })).toThrow(/^url:/);
    expect(() => new MerchantWebhookSender({ url: 'ftp://example.com/x', secret: SECRET })).toThrow(/^url:/);
    expect(() => new MerchantWebhookSender({ url: receiver.url, secret: '' })).toThrow(/^secret:/);
    expect(() => new MerchantWebhookSender({ url: receiver.url, secret: [] })).toThrow(/^secret:/);
    expect(() => new MerchantWebhookSender({ url: receiver.url, secret: SECRET, timeoutMs: 0 })).toThrow(/^timeoutMs:/);
  });

  it('adapts to the notify activity notifier interface, signing with the injected clock', async () => {
    const sender = new MerchantWebhookSender({ url: receiver.url, secret: SECRET });
    const fixedMs = Date.now() - 10_000;
    const notifier: MerchantNotifier = asMerchantNotifier(sender, () => fixedMs);
    await notifier.send(event());
    expect(receiver.deliveries[0]!.verification).toEqual({ ok: true, timestamp: Math.floor(fixedMs / 1000) });
    receiver.respond = () => ({ status: 404 });
    await expect(notifier.send(event())).rejects.toMatchObject({ retryable: false, kind: 'Rejected' });
  });
});
