/** Billing errors are branded: recognised across copies of the package; their codes map to HTTP and exit codes once. */
import { BILLING_ERROR_OUTCOMES, BillingNotFoundError, isBillingError } from '@temporal-billing/client';
import type * as ClientPackage from '@temporal-billing/client';

it('isBillingError recognises an error thrown by another copy of the package (where instanceof fails)', () => {
  let other: typeof ClientPackage | undefined;
  jest.isolateModules(() => {
    other = jest.requireActual<typeof ClientPackage>('@temporal-billing/client');
  });
  const err = new other!.BillingNotFoundError('subscription', 'sub_1');
  expect(err instanceof BillingNotFoundError).toBe(false); // a second copy
  expect(isBillingError(err)).toBe(true);
  expect(isBillingError(new Error('plain'))).toBe(false);
  expect(isBillingError({ code: 'not_found' })).toBe(false);
});

it('one table gives every code its HTTP status and CLI exit code', () => {
  expect(BILLING_ERROR_OUTCOMES).toEqual({
    validation_failed: { httpStatus: 400, exitCode: 2 },
    not_found: { httpStatus: 404, exitCode: 3 },
    conflict: { httpStatus: 409, exitCode: 4 },
    unavailable: { httpStatus: 503, exitCode: 1 },
  });
});
