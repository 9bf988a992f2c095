/**
 * A BillingClient cannot be made to write plaintext payloads: without payload keys (or a data converter with a
 * payload codec) connect and the constructor refuse, naming the option; the development helper refuses production.
 */
import { Client, Connection } from '@temporalio/client';
import { BillingClient, BillingValidationError, connectToDevStack, isBillingError } from '@temporal-billing/client';

const nowhere = { address: '127.0.0.1:1' };

it('connect without payloadKeys or a codec refuses before it connects, naming payloadKeys', async () => {
  const err: unknown = await BillingClient.connect({ connection: nowhere }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BillingValidationError);
  expect((err as BillingValidationError).issues.map((i) => i.path)).toEqual(['payloadKeys']);
  expect((err as Error).message).toMatch(/connectToDevStack/);
});

it('a data converter without a payload codec is refused too', async () => {
  const err: unknown = await BillingClient.connect({ connection: nowhere, dataConverter: {} }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BillingValidationError);
});

it('the constructor refuses a Temporal client that encodes payloads in clear', () => {
  const client = new Client({ connection: Connection.lazy(nowhere) });
  expect(() => new BillingClient({ client })).toThrow(BillingValidationError);
});

it('payloadKeys given as the PAYLOAD_KEYS text are checked, naming the field', async () => {
  const err: unknown = await BillingClient.connect({ connection: nowhere, payloadKeys: 'k1:short' }).catch(
    (e: unknown) => e,
  );
  expect(isBillingError(err) && err.code).toBe('validation_failed');
  expect((err as BillingValidationError).issues[0]?.path).toBe('payloadKeys');
});

it('connectToDevStack (the public development key) refuses NODE_ENV=production', async () => {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await expect(connectToDevStack({ address: nowhere.address })).rejects.toThrow(/NODE_ENV=production/);
  } finally {
    process.env.NODE_ENV = before;
  }
});
