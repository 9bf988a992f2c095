/**
 * The library's shape (issue 25): at most 25 names on the main entry, the engine's duties on `/engine` only, and no
 * Temporal client reachable from a BillingClient; a keyed change reads the subscription's ownership once.
 */
import { resolve } from 'node:path';
import ts from 'typescript';
import { Client } from '@temporalio/client';
import { BillingClient } from '@temporal-billing/client';

const entry = (name: string): string => resolve(__dirname, '../../../packages/client/src', `${name}.ts`);

/** Every name an entry point exports, types included, as the TypeScript checker sees them. */
function exportedNames(file: string): string[] {
  const program = ts.createProgram([file], { strict: true, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((s) => s.name);
}

it('the main entry exports at most 25 names; the ingress and operator classes are on /engine only', () => {
  const names = exportedNames(entry('index'));
  console.log(`main entry: ${names.length} names`);
  expect(names.length).toBeLessThanOrEqual(25);
  expect(names).toEqual(expect.arrayContaining(['BillingClient', 'connectToDevStack', 'isBillingError']));
  expect(names).not.toEqual(expect.arrayContaining(['WebhookIngress']));
  expect(names).not.toContain('BillingOperator');
  expect(exportedNames(entry('engine'))).toEqual(expect.arrayContaining(['WebhookIngress', 'BillingOperator']));
});

/** Whether a value, or anything reachable from it through properties and getters, is the Temporal client. */
function reaches(value: unknown, target: unknown, seen = new Set<unknown>()): boolean {
  if (value === target) return true;
  if (typeof value !== 'object' || value === null || seen.has(value)) return false;
  seen.add(value);
  for (let o: object | null = value; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor') continue;
      let v: unknown;
      try {
        v = (value as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      if (typeof v !== 'function' && reaches(v, target, seen)) return true;
    }
  }
  return false;
}

it('no property of a BillingClient, its namespaces or its getters hands out the Temporal client', () => {
  const temporal = new Client({
    connection: {} as never,
    dataConverter: { payloadCodecs: [{ encode: async (p) => p, decode: async (p) => p }] },
  });
  const billing = new BillingClient({ client: temporal, merchantId: 'm1' });
  expect(reaches(billing, temporal)).toBe(false);
  expect(reaches({ via: billing.subscriptions }, temporal)).toBe(false);
  expect(reaches({ leak: temporal }, temporal)).toBe(true); // the walk finds a client where there is one
});

/** A Temporal client stand-in for one keyed pause: it counts the describes of the subscription's workflow. */
function countingClient(): { client: Client; describes: string[] } {
  const describes: string[] = [];
  const handle = (workflowId: string) => ({
    workflowId,
    describe: async () => {
      describes.push(workflowId);
      return { typedSearchAttributes: { get: () => 'default' } };
    },
    executeUpdate: async (update: { name: string }) =>
      update.name.toLowerCase().includes('claim')
        ? { outcome: 'granted', claimId: 'c', expiresAt: new Date().toISOString() }
        : { subscriptionId: 'sub_1', status: 'paused' },
  });
  const client = {
    options: { loadedDataConverter: { payloadCodecs: [{}] } },
    workflow: { getHandle: handle, start: async (_type: string, o: { workflowId: string }) => handle(o.workflowId) },
  } as unknown as Client;
  return { client, describes };
}

it('a change with an Idempotency-Key reads the subscription (its merchant) once, as one without a key does', async () => {
  const keyed = countingClient();
  const state = await new BillingClient({ client: keyed.client }).subscriptions.pause('sub_1', {
    idempotencyKey: 'key-1',
  });
  expect(state.status).toBe('paused');
  expect(keyed.describes).toEqual(['subscription:sub_1']);
  const plain = countingClient();
  await new BillingClient({ client: plain.client }).subscriptions.pause('sub_1');
  expect(plain.describes).toEqual(['subscription:sub_1']);
});
