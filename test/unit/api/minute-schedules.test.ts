/** `intervalUnit: 'minute'` is for development against the sandbox: a BillingClient refuses it unless told otherwise. */
import type { Client } from '@temporalio/client';
import { BillingClient, BillingValidationError } from '@temporal-billing/client';
import { subscriptionBody } from '../../support/api-stack';

/** A stand-in Temporal client that records starts; it seals payloads as every client of the engine must. */
const fakeClient = (start: jest.Mock): Client =>
  ({ workflow: { start }, options: { loadedDataConverter: { payloadCodecs: [{}] } } }) as unknown as Client;

const minuteBody = subscriptionBody('sub_minutes', {
  schedule: { intervalUnit: 'minute', intervalCount: 1, anchor: '2030-01-31T09:00', timeZone: 'UTC' },
});

it("refuses a 'minute' schedule by default, naming schedule.intervalUnit, before anything is started", async () => {
  const start = jest.fn();
  const billing = new BillingClient({ client: fakeClient(start) });
  const err = await billing.createSubscription(minuteBody as never).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BillingValidationError);
  expect((err as BillingValidationError).issues.map((i) => i.path)).toEqual(['schedule.intervalUnit']);
  expect(start).not.toHaveBeenCalled();
});

it("accepts a 'minute' schedule when the client is built for the sandbox", async () => {
  const start = jest.fn().mockRejectedValue(new Error('stop here'));
  const billing = new BillingClient({
    client: fakeClient(start),
    allowMinuteSchedules: true,
  });
  await billing.createSubscription(minuteBody as never).catch(() => undefined);
  expect(start).toHaveBeenCalledTimes(1);
});
