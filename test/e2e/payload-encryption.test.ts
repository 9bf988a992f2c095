/**
 * Encrypted payloads on a real server: what Temporal stores (read raw, without the codec) holds no recurring token,
 * e-mail or card outcome, while a client with the codec reads the same history in clear, also through the API's codec
 * endpoint that the Temporal UI calls. Key rotation: a cycle started under key 1 finishes after key 2 became current,
 * and its history (written under both keys) still decodes.
 */
import { DEFAULT_DUNNING_POLICY } from '../../src/domain/dunning';
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import axios from 'axios';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { buildApiServer, apiKeyMatcher } from '../../src/api/server';
import { BillingClient } from '@temporal-billing/client';
import { BillingOperator, WebhookIngress } from '@temporal-billing/client/engine';
import { createLogger } from '../../src/logger';
import {
  AesGcmPayloadCodec,
  DEV_PAYLOAD_KEY,
  encryptedDataConverter,
  KEY_ID_METADATA_KEY,
  type PayloadKey,
} from '@temporal-billing/client/payload-codec';
import { cycleStateQuery, cycleWorkflowId, paymentMethodUpdatedSignal } from '../../src/shared/billing-cycle';
import { billingCycleWorkflow } from '../../src/workflows';
import { cycleInput, eventually, startBillingStack, type BillingStack } from '../support/billing-stack';
import { bundleWorkflows, connectToDevServer, uniqueId } from '../support/temporal';

const k1: PayloadKey = { id: 'k1', key: randomBytes(32) };
const k2: PayloadKey = { id: 'k2', key: randomBytes(32) };
// The stack's webhook ingress signals through the shared test client (development key): workers also keep that key
// to decrypt, like an older key after a rotation.
const dev = DEV_PAYLOAD_KEY;
const UI_ORIGIN = 'http://127.0.0.1:8233';
const CODEC_KEY = 'codec-operator-key-0123';

let env: TestWorkflowEnvironment;
let stack: BillingStack;
let api: FastifyInstance;
let apiUrl: string;

beforeAll(async () => {
  const [e, bundle] = await Promise.all([
    connectToDevServer(),
    bundleWorkflows(require.resolve('../../src/workflows')),
  ]);
  env = e;
  stack = await startBillingStack(env, {
    workflowBundle: bundle,
    taskQueue: uniqueId('encrypted'),
    dataConverter: encryptedDataConverter([k1, dev]),
    maxCachedWorkflows: 0,
  });
  const codec = new AesGcmPayloadCodec([k2, k1, dev]);
  const client = clientWith([k2, k1, dev]);
  api = buildApiServer({
    billing: new BillingClient({ client }),
    operator: new BillingOperator({ client }),
    ingress: new WebhookIngress({ client }),
    apiKeys: ['merchant-key-0123456'],
    webhook: {
      verifier: { verify: async () => false } as never,
      qorepay: stack.qorepay,
      logger: createLogger({ level: 'silent' }),
    },
    temporalHealth: async () => undefined,
    logger: createLogger({ level: 'silent' }),
    codec: {
      codec,
      authorize: (bearer) => apiKeyMatcher([CODEC_KEY])(bearer) !== undefined,
      open: false,
      allowedOrigin: UI_ORIGIN,
    },
  });
  await api.listen({ host: '127.0.0.1', port: 0 });
  apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await api?.close();
  await stack?.stop();
  await env?.teardown();
});

function clientWith(keys: PayloadKey[] | undefined): Client {
  return new Client({
    connection: env.connection,
    namespace: env.namespace ?? 'default',
    ...(keys ? { dataConverter: encryptedDataConverter(keys) } : {}),
  });
}

/**
 * Every payload in a history, in event order, but search attributes (plain by design: they must be queryable) and the
 * details of `core_patch` markers: `patched()` markers whose patch-data (`{ id, deprecated }`) the SDK's core writes
 * itself, outside the data converter and its codec. Those are returned apart, to check they hold nothing else.
 */
function payloadsOf(history: temporal.api.history.v1.IHistory): Payload[] {
  return walkPayloads(history).payloads;
}
function walkPayloads(history: temporal.api.history.v1.IHistory): { payloads: Payload[]; patchData: Payload[] } {
  const payloads: Payload[] = [];
  const patchData: Payload[] = [];
  const walk = (v: unknown, out: Payload[]): void => {
    if (!v || typeof v !== 'object') return;
    if (v instanceof Uint8Array) return;
    if (Array.isArray(v)) return v.forEach((child) => walk(child, out));
    const o = v as Record<string, unknown> & Payload;
    if (o.metadata && typeof o.metadata === 'object' && 'data' in o) {
      out.push(o);
      return;
    }
    if (o.markerName === 'core_patch') return walk(o.details, patchData);
    for (const [k, child] of Object.entries(o)) if (k !== 'searchAttributes') walk(child, out);
  };
  walk(history.events, payloads);
  return { payloads, patchData };
}

it('stores no token or e-mail in Temporal; the codec reads the history in clear, before and after a key rotation', async () => {
  const subscriptionId = uniqueId('enc').replace(/[^A-Za-z0-9_-]/g, '');
  const firstToken = `tok_hard_stolen_card_${uniqueId('t')}`;
  const newToken = `tok_success_${uniqueId('t')}`;
  const email = `${subscriptionId}@customer.example`;
  const underK1 = clientWith([k1, dev]);
  const handle = await underK1.workflow.start(billingCycleWorkflow, {
    workflowId: cycleWorkflowId(subscriptionId, 0),
    taskQueue: stack.taskQueue,
    args: [
      cycleInput({
        subscriptionId,
        recurringToken: firstToken,
        customerEmail: email,
        // Real time: no 4 h spacing between the decline and the new card.
        dunning: { ...DEFAULT_DUNNING_POLICY, minHoursBetweenAttempts: 0 },
      }),
    ],
  });
  await eventually(async () => (await handle.query(cycleStateQuery)).status === 'action_required', 'action_required');

  // Key 2 becomes current: a new worker and a new client that encrypt with k2 and still hold k1.
  await stack.restartWorker({ dataConverter: encryptedDataConverter([k2, k1, dev]) });
  const underK2 = clientWith([k2, k1, dev]).workflow.getHandle<typeof billingCycleWorkflow>(handle.workflowId);
  await underK2.signal(paymentMethodUpdatedSignal, { recurringToken: newToken });
  expect((await underK2.result()).status).toBe('paid');

  // Raw, as Temporal stores and serves it: none of the customer's data.
  const raw = await clientWith(undefined).workflow.getHandle(handle.workflowId).fetchHistory();
  const bytes = Buffer.from(temporal.api.history.v1.History.encode(raw).finish());
  // (The decline code, e.g. stolen_card, stays visible on purpose: LastDeclineCode is a search attribute operators query.)
  for (const secret of [firstToken, newToken, email]) {
    expect([secret, bytes.includes(Buffer.from(secret))]).toEqual([secret, false]);
  }
  const payloads = payloadsOf(raw);
  const keyIds = new Set(payloads.map((p) => Buffer.from(p.metadata?.[KEY_ID_METADATA_KEY] ?? []).toString()));
  expect(keyIds.has('k1') && keyIds.has('k2')).toBe(true); // written under both keys
  expect(keyIds.has('')).toBe(false); // and nothing stored unencrypted
  // but the patch markers' ids (core writes them without the codec): a patch name and its deprecation flag, no more.
  for (const p of walkPayloads(raw).patchData) {
    expect(Object.keys(defaultPayloadConverter.fromPayload<object>(p)).sort()).toEqual(['deprecated', 'id']);
  }
  // A client without the keys cannot read the result.
  await expect(clientWith(undefined).workflow.getHandle(handle.workflowId).result()).rejects.toThrow();

  // With the codec (current key k2, k1 kept): the whole history reads in clear.
  const clear = await new AesGcmPayloadCodec([k2, k1, dev]).decode(payloads);
  const clearText = clear.map((p) => JSON.stringify(defaultPayloadConverter.fromPayload(p) ?? null)).join('\n');
  expect(clearText).toContain(firstToken);
  expect(clearText).toContain(newToken);
  expect(clearText).toContain(email);

  // The same through the codec endpoint the Temporal UI calls (bearer key, from the UI's origin).
  const asJson = payloads.map((p) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  }));
  const http = axios.create({ baseURL: apiUrl, validateStatus: () => true });
  const decoded = await http.post<{ payloads: { data: string }[] }>(
    '/codec/decode',
    { payloads: asJson },
    { headers: { authorization: `Bearer ${CODEC_KEY}`, origin: UI_ORIGIN } },
  );
  expect(decoded.status).toBe(200);
  expect(decoded.headers['access-control-allow-origin']).toBe(UI_ORIGIN);
  const endpointText = decoded.data.payloads.map((p) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n');
  expect(endpointText).toContain(firstToken);
  expect(endpointText).toContain(email);

  // Without the key, or from another origin: nothing decoded.
  expect((await http.post('/codec/decode', { payloads: asJson })).status).toBe(401);
  const otherOrigin = await http.post(
    '/codec/decode',
    { payloads: asJson },
    { headers: { authorization: `Bearer ${CODEC_KEY}`, origin: 'https://evil.example' } },
  );
  expect(otherOrigin.status).toBe(403);
  expect(otherOrigin.headers['access-control-allow-origin']).toBeUndefined();
  const preflight = await http.options('/codec/decode', {
    headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST' },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers['access-control-allow-headers']).toContain('authorization');
  expect((await http.options('/codec/decode', { headers: { origin: 'https://evil.example' } })).status).toBe(403);

  // Search attributes stay plain and queryable (ids and statuses only).
  const desc = await underK2.describe();
  expect(desc.searchAttributes).toMatchObject({ SubscriptionId: [subscriptionId], BillingStatus: ['paid'] });
});
