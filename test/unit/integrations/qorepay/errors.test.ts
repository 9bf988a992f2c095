import {
  isQorePayError,
  nonFieldCodes,
  parseErrorBody,
  parseRetryAfter,
  QorePayError,
  RateLimitedError,
  ValidationError,
} from '../../../../src/integrations/qorepay';

describe('parseErrorBody', () => {
  it('reads __all__ as a list', () => {
    expect(parseErrorBody({ __all__: [{ message: 'Failed', code: 'purchase_charge_error' }] })).toEqual([
      { path: '__all__', message: 'Failed', code: 'purchase_charge_error' },
    ]);
  });

  it('reads __all__ as a single object', () => {
    expect(parseErrorBody({ __all__: { message: 'Dead', code: 'invalid_recurring_token' } })).toEqual([
      { path: '__all__', message: 'Dead', code: 'invalid_recurring_token' },
    ]);
  });

  it('reads a flat {code, message} and a DRF {detail}', () => {
    expect(parseErrorBody({ code: 'rate_limited', message: 'Slow down' })).toEqual([
      { path: '__all__', message: 'Slow down', code: 'rate_limited' },
    ]);
    expect(parseErrorBody({ detail: 'Not found.' })).toEqual([{ path: '__all__', message: 'Not found.' }]);
  });

  it('collects every leaf of nested field-keyed lists with dotted paths', () => {
    const body = {
      brand_id: [{ message: 'This field is required.', code: 'required' }],
      client: { email: [{ message: 'Enter a valid email address.', code: 'invalid' }] },
      purchase: {
        products: [
          {},
          {
            price: [
              { message: 'Must be an integer.', code: 'invalid' },
              { message: 'Must be >= 0.', code: 'min_value' },
            ],
          },
        ],
        currency: ['Unknown currency.'],
      },
      non_field_errors: [{ message: 'Bad combo', code: 'invalid' }],
    };
    expect(parseErrorBody(body)).toEqual([
      { path: 'brand_id', message: 'This field is required.', code: 'required' },
      { path: 'client.email', message: 'Enter a valid email address.', code: 'invalid' },
      { path: 'purchase.products.1.price', message: 'Must be an integer.', code: 'invalid' },
      { path: 'purchase.products.1.price', message: 'Must be >= 0.', code: 'min_value' },
      { path: 'purchase.currency', message: 'Unknown currency.' },
      { path: '__all__', message: 'Bad combo', code: 'invalid' },
    ]);
  });

  it('parses raw JSON text, keeps non-JSON text as a message, and ignores empty bodies', () => {
    expect(parseErrorBody('{"__all__":[{"message":"m","code":"c"}]}')).toEqual([
      { path: '__all__', message: 'm', code: 'c' },
    ]);
    expect(parseErrorBody('<html>oops</html>')).toEqual([{ path: '__all__', message: '<html>oops</html>' }]);
    expect(parseErrorBody('')).toEqual([]);
    expect(parseErrorBody(null)).toEqual([]);
    expect(parseErrorBody({ code: 'only_code' })).toEqual([
      { path: '__all__', message: 'only_code', code: 'only_code' },
    ]);
  });

  it('nonFieldCodes picks the codes not tied to a field', () => {
    const errors = parseErrorBody({ __all__: [{ message: 'x', code: 'a' }], f: [{ message: 'y', code: 'b' }] });
    expect(nonFieldCodes(errors)).toEqual(['a']);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta seconds and HTTP dates', () => {
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('2.5', now)).toBe(2500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter(['7'], now)).toBe(7000);
  });
  it('falls back when absent or unparseable, and never goes negative', () => {
    expect(parseRetryAfter(undefined, now)).toBe(1000);
    expect(parseRetryAfter('soon', now, 5000)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });
});

describe('error objects', () => {
  it('carry kind and retryable, and are recognised by isQorePayError', () => {
    const v = new ValidationError({ fieldErrors: [{ path: 'a', message: 'b' }], httpStatus: 400, operation: 'op' });
    const r = new RateLimitedError({ retryAfterMs: 10 });
    expect([v.kind, v.retryable, r.kind, r.retryable, r.retryAfterMs]).toEqual([
      'Validation',
      false,
      'RateLimited',
      true,
      10,
    ]);
    expect(v).toBeInstanceOf(QorePayError);
    expect(v).toBeInstanceOf(Error);
    expect(isQorePayError(v)).toBe(true);
    expect(isQorePayError(new Error('x'))).toBe(false);
    expect(isQorePayError({ kind: 'Validation' })).toBe(false);
    expect(isQorePayError(null)).toBe(false);
  });

  it('serialise to JSON with their details', () => {
    const v = new ValidationError({ fieldErrors: [{ path: 'a', message: 'b', code: 'c' }], httpStatus: 400 });
    expect(JSON.parse(JSON.stringify(v))).toMatchObject({
      name: 'QorePayError',
      kind: 'Validation',
      retryable: false,
      httpStatus: 400,
      fieldErrors: [{ path: 'a', message: 'b', code: 'c' }],
    });
  });
});
