import fc from 'fast-check';
import {
  assertMinorAmount,
  assertPositiveMinorAmount,
  assertDoubleExactAmount,
  assertSafeIntegerAmount,
  MAX_DOUBLE_EXACT_MINOR,
  currencyExponent,
  isMoneyError,
  majorToMinor,
  minorToMajorString,
} from '../../../src/domain/money';

describe('currencyExponent', () => {
  it.each([
    ['USD', 2],
    ['EUR', 2],
    ['MYR', 2],
    ['usd', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['VND', 0],
    ['CLP', 0],
    ['ISK', 0],
    ['UGX', 0],
    ['XAF', 0],
    ['XOF', 0],
    ['BHD', 3],
    ['JOD', 3],
    ['KWD', 3],
    ['OMR', 3],
    ['TND', 3],
    ['IQD', 3],
    ['LYD', 3],
  ])('%s has %i decimals', (code, exp) => {
    expect(currencyExponent(code)).toBe(exp);
  });

  it.each(['', 'US', 'USDX', '12A', 'U$D'])('rejects %j naming the value', (code) => {
    expect(() => currencyExponent(code)).toThrow(JSON.stringify(code));
  });
});

describe('minorToMajorString', () => {
  it.each<[number, string, string]>([
    [1999, 'USD', '19.99'],
    [5, 'USD', '0.05'],
    [0, 'USD', '0.00'],
    [100, 'USD', '1.00'],
    [5, 'JPY', '5'],
    [0, 'JPY', '0'],
    [1234, 'KWD', '1.234'],
    [1, 'KWD', '0.001'],
    [-1999, 'USD', '-19.99'],
    [-5, 'USD', '-0.05'],
    [-7, 'JPY', '-7'],
    [-1, 'BHD', '-0.001'],
    [Number.MAX_SAFE_INTEGER, 'USD', '90071992547409.91'],
    [Number.MAX_SAFE_INTEGER, 'JPY', '9007199254740991'],
    [Number.MAX_SAFE_INTEGER, 'KWD', '9007199254740.991'],
    [-Number.MAX_SAFE_INTEGER, 'USD', '-90071992547409.91'],
  ])('%i %s -> %s', (minor, currency, expected) => {
    expect(minorToMajorString(minor, currency)).toBe(expected);
  });

  it('prints -0 as zero', () => {
    expect(minorToMajorString(-0, 'USD')).toBe('0.00');
  });

  it.each([1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1, '100' as unknown as number])(
    'rejects %p with a message naming the value',
    (bad) => {
      let caught: unknown;
      try {
        minorToMajorString(bad, 'USD');
      } catch (err) {
        caught = err;
      }
      expect(isMoneyError(caught)).toBe(true);
      expect((caught as Error).message).toContain(typeof bad === 'string' ? JSON.stringify(bad) : String(bad));
    },
  );
});

describe('majorToMinor', () => {
  it.each<[string | number, string, number]>([
    ['19.99', 'USD', 1999],
    [19.99, 'USD', 1999],
    [0.1, 'USD', 10],
    [0.3, 'USD', 30],
    [1.005, 'KWD', 1005],
    ['19.990', 'USD', 1999],
    ['19', 'USD', 1900],
    ['0', 'USD', 0],
    ['-0', 'USD', 0],
    ['-19.99', 'USD', -1999],
    ['5', 'JPY', 5],
    ['5.0', 'JPY', 5],
    ['1.234', 'KWD', 1234],
    [1.234, 'KWD', 1234],
    ['0.001', 'BHD', 1],
    ['007.50', 'USD', 750],
    ['90071992547409.91', 'USD', Number.MAX_SAFE_INTEGER],
    ['9007199254740991', 'JPY', Number.MAX_SAFE_INTEGER],
  ])('%p %s -> %i', (major, currency, expected) => {
    expect(majorToMinor(major, currency)).toBe(expected);
  });

  it('computes 0.1 + 0.2 exactly once in minor units', () => {
    expect(majorToMinor('0.1', 'USD') + majorToMinor('0.2', 'USD')).toBe(majorToMinor('0.3', 'USD'));
  });

  it.each<[string | number, string, string]>([
    ['19.999', 'USD', 'more than 2 decimal'],
    ['5.5', 'JPY', 'more than 0 decimal'],
    ['1.2345', 'KWD', 'more than 3 decimal'],
    [0.001, 'USD', 'more than 2 decimal'],
    ['1e3', 'USD', 'plain decimal'],
    [1e-7, 'USD', 'plain decimal'],
    ['', 'USD', 'plain decimal'],
    [' 1.00', 'USD', 'plain decimal'],
    ['+1.00', 'USD', 'plain decimal'],
    ['1.', 'USD', 'plain decimal'],
    ['.5', 'USD', 'plain decimal'],
    ['1,00', 'USD', 'plain decimal'],
    [NaN, 'USD', 'finite'],
    ['90071992547409.92', 'USD', 'MAX_SAFE_INTEGER'],
    ['100000000000000000000', 'JPY', 'MAX_SAFE_INTEGER'],
  ])('rejects %p %s (%s)', (major, currency, fragment) => {
    expect(() => majorToMinor(major, currency)).toThrow(fragment);
  });

  it('names the rejected value', () => {
    expect(() => majorToMinor('19.999', 'USD')).toThrow('"19.999"');
  });
});

describe('round trips (properties)', () => {
  // A currency of each exponent, spelled in either case; 0, 2, 3 and 4 decimals.
  const currencies = ['JPY', 'clp', 'USD', 'eur', 'KWD', 'bhd', 'CLF'] as const;
  const exponentOf: Record<string, number> = { JPY: 0, CLP: 0, USD: 2, EUR: 2, KWD: 3, BHD: 3, CLF: 4 };
  const currencyArb = fc.constantFrom(...currencies);
  // Small amounts (where padding and the sign matter) as often as large ones, up to the safe-integer bound.
  const minorArb = fc.oneof(
    fc.integer({ min: -1_000, max: 1_000 }),
    fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, MAX_DOUBLE_EXACT_MINOR, -MAX_DOUBLE_EXACT_MINOR),
  );
  const runs = { numRuns: Number(process.env.FC_RUNS ?? 500) };

  it("a minor-unit amount formats as a decimal with exactly the currency's decimals, and parses back", () => {
    fc.assert(
      fc.property(minorArb, currencyArb, (minor, currency) => {
        const major = minorToMajorString(minor, currency);
        const exponent = exponentOf[currency.toUpperCase()]!;
        // The decimal's digits, without the point, are the minor amount (leading zeros only to fill the fraction).
        const [whole, fraction = ''] = major.replace(/^-/, '').split('.');
        expect(fraction).toHaveLength(exponent);
        expect(whole).toMatch(/^(0|[1-9]\d*)$/);
        expect(BigInt(`${whole}${fraction}`)).toBe(BigInt(Math.abs(minor)));
        expect(major.startsWith('-')).toBe(minor < 0);
        expect(majorToMinor(major, currency)).toBe(minor);
      }),
      runs,
    );
  });

  it('the JSON-number path (what a float-parsing server does) is exact up to 15 significant digits', () => {
    const doubleExactArb = fc.oneof(
      fc.integer({ min: -1_000, max: 1_000 }),
      fc.integer({ min: -MAX_DOUBLE_EXACT_MINOR, max: MAX_DOUBLE_EXACT_MINOR }),
    );
    fc.assert(
      fc.property(doubleExactArb, currencyArb, (minor, currency) => {
        const asJsonNumber = JSON.parse(minorToMajorString(minor, currency)) as number;
        expect(majorToMinor(asJsonNumber, currency)).toBe(minor);
      }),
      runs,
    );
  });

  it("trailing zeros beyond the currency's decimals and leading zeros change nothing", () => {
    fc.assert(
      fc.property(minorArb, currencyArb, fc.nat({ max: 5 }), fc.nat({ max: 5 }), (minor, currency, zeros, lead) => {
        const major = minorToMajorString(minor, currency);
        const sign = major.startsWith('-') ? '-' : '';
        const unsigned = major.replace(/^-/, '');
        const padded = `${sign}${'0'.repeat(lead)}${unsigned}${zeros && !unsigned.includes('.') ? '.' : ''}${'0'.repeat(zeros)}`;
        expect(majorToMinor(padded, currency)).toBe(minor);
      }),
      runs,
    );
  });

  it('every cent value from 0.00 to 100.00 survives the float path', () => {
    for (let minor = 0; minor <= 10_000; minor++) {
      if (majorToMinor(minor / 100, 'USD') !== minor) throw new Error(`${minor / 100} USD parsed as not ${minor}`);
    }
  });
});

describe('assertions', () => {
  it('assertMinorAmount rejects negatives, fractions and unsafe values naming them', () => {
    expect(() => assertMinorAmount(-1, 'total')).toThrow('total must not be negative, got -1');
    expect(() => assertMinorAmount(1.5)).toThrow('amountMinor must be an integer number of minor units, got 1.5');
    expect(() => assertMinorAmount(2 ** 53)).toThrow(String(2 ** 53));
    expect(() => assertMinorAmount('5')).toThrow('"5"');
    expect(() => assertMinorAmount(0)).not.toThrow();
  });
  it('assertPositiveMinorAmount rejects zero', () => {
    expect(() => assertPositiveMinorAmount(0, 'amount')).toThrow('amount must be greater than zero');
    expect(() => assertPositiveMinorAmount(1)).not.toThrow();
  });
  it('assertDoubleExactAmount bounds amounts sent as JSON numbers', () => {
    expect(() => assertDoubleExactAmount(MAX_DOUBLE_EXACT_MINOR)).not.toThrow();
    expect(() => assertDoubleExactAmount(-MAX_DOUBLE_EXACT_MINOR - 1, 'total')).toThrow('total -1000000000000000');
    // Why the bound exists: a 16-digit decimal does not survive a double.
    expect(String(JSON.parse(minorToMajorString(7910442852679679, 'USD')))).not.toBe('79104428526796.79');
  });
  it('assertSafeIntegerAmount allows negatives', () => {
    expect(() => assertSafeIntegerAmount(-5)).not.toThrow();
    expect(() => assertSafeIntegerAmount(Number.MIN_SAFE_INTEGER - 1)).toThrow('MAX_SAFE_INTEGER');
  });
});
