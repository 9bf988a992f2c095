/**
 * The errors of src/domain/money.ts as a caller meets them: a MoneyError is recognised by its `kind` (also across a
 * serialization boundary, where `instanceof` fails), every message names the rejected value as it was given, and
 * the default field name is `amountMinor`.
 */
import {
  MoneyError,
  assertDoubleExactAmount,
  assertMinorAmount,
  assertPositiveMinorAmount,
  assertSafeIntegerAmount,
  isMoneyError,
  majorToMinor,
  minorToMajorString,
  normalizeCurrency,
} from '../../../src/domain/money';

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
};

describe('MoneyError and isMoneyError', () => {
  it('a MoneyError says what it is: name, kind and code', () => {
    const err = thrown(() => assertMinorAmount(-1));
    expect(err).toBeInstanceOf(MoneyError);
    expect(err).toMatchObject({ name: 'MoneyError', kind: 'MoneyError', code: 'NegativeAmount' });
    expect(String(err)).toBe('MoneyError: amountMinor must not be negative, got -1');
  });

  it('recognises a MoneyError, and a copy of one that lost its class (structured clone, JSON)', () => {
    const err = thrown(() => majorToMinor('1.234', 'USD'));
    expect(isMoneyError(err)).toBe(true);
    expect(isMoneyError({ ...(err as object) })).toBe(true);
  });

  it.each([null, undefined, 'MoneyError', 42, new Error('MoneyError'), {}, { kind: 'IntegrationError' }])(
    'is false for %p',
    (value) => {
      expect(isMoneyError(value)).toBe(false);
    },
  );
});

describe('messages name the rejected value as given', () => {
  it.each<[unknown, string]>([
    [10n, 'amountMinor must be an integer number of minor units, got 10'],
    [true, 'amountMinor must be an integer number of minor units, got true'],
    [null, 'amountMinor must be an integer number of minor units, got null'],
    [undefined, 'amountMinor must be an integer number of minor units, got undefined'],
    [{ amount: 1 }, 'amountMinor must be an integer number of minor units, got object'],
    ['12', 'amountMinor must be an integer number of minor units, got "12"'],
  ])('assertMinorAmount(%p)', (value, message) => {
    expect(() => assertMinorAmount(value)).toThrow(message);
  });

  it('a currency that is not a string is refused as a currency', () => {
    const err = thrown(() => normalizeCurrency(978 as unknown as string));
    expect(err).toMatchObject({ code: 'InvalidCurrency' });
    expect((err as Error).message).toBe('currency must be a 3-letter ISO 4217 code, got 978');
  });

  it.each<[unknown, string]>([
    [true, 'amount must be a decimal string or number, got true'],
    [null, 'amount must be a decimal string or number, got null'],
    [[1], 'amount must be a decimal string or number, got object'],
  ])('majorToMinor(%p)', (value, message) => {
    expect(() => majorToMinor(value as string, 'USD')).toThrow(message);
  });

  it('the default field name is amountMinor', () => {
    expect(() => assertPositiveMinorAmount(0)).toThrow('amountMinor must be greater than zero, got 0');
    expect(() => assertDoubleExactAmount(1e15)).toThrow(/^amountMinor 1000000000000000 has more than 15/);
    expect(() => assertSafeIntegerAmount(1.5)).toThrow(
      /^amountMinor must be an integer number of minor units, got 1.5$/,
    );
    // Formatting checks its amount under the same name.
    expect(() => minorToMajorString(2 ** 53, 'USD')).toThrow(/^amountMinor must be within/);
  });
});

describe('majorToMinor edge values', () => {
  it('-0 is zero', () => {
    expect(Object.is(majorToMinor(-0, 'USD'), 0)).toBe(true);
  });

  it('any number of trailing zeros beyond the exponent is exact', () => {
    expect(majorToMinor('1.5000', 'USD')).toBe(150);
    expect(majorToMinor('7.000000', 'JPY')).toBe(7);
  });
});
