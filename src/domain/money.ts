/**
 * Money: the engine keeps every amount as an integer count of the currency's minor unit (invariant 5).
 * Conversions to and from major-unit decimals happen only at integration edges, and only through this module.
 *
 * Pure and deterministic (imported by workflow code): no Node built-ins, no I/O, no floating-point arithmetic on
 * amounts. Decimal strings are built and parsed digit by digit, so 0.1 + 0.2 style drift cannot happen.
 */

/** Raised for any invalid amount or currency. `code` is stable; `message` names the offending value. */
export class MoneyError extends Error {
  readonly kind = 'MoneyError' as const;
  constructor(
    readonly code: 'InvalidCurrency' | 'InvalidAmount' | 'TooManyDecimals' | 'UnsafeAmount' | 'NegativeAmount',
    message: string,
  ) {
    super(message);
    this.name = 'MoneyError';
  }
}

export function isMoneyError(err: unknown): err is MoneyError {
  return typeof err === 'object' && err !== null && (err as { kind?: unknown }).kind === 'MoneyError';
}

/**
 * ISO 4217 minor-unit exponents that differ from the default of 2 (ISO 4217 amendment list, 2024).
 * Currencies absent from this table use 2.
 */
const EXPONENT_EXCEPTIONS: Readonly<Record<string, number>> = Object.freeze({
  // 0 decimals
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  // 3 decimals
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  // 4 decimals (units of account)
  CLF: 4,
  UYW: 4,
});

const DEFAULT_EXPONENT = 2;
const CURRENCY_CODE = /^[A-Z]{3}$/;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  return typeof value;
}

/** Upper-cases and validates a three-letter ISO 4217 code. */
export function normalizeCurrency(currency: string): string {
  if (typeof currency !== 'string') {
    throw new MoneyError('InvalidCurrency', `currency must be a 3-letter ISO 4217 code, got ${describe(currency)}`);
  }
  const code = currency.toUpperCase();
  if (!CURRENCY_CODE.test(code)) {
    throw new MoneyError('InvalidCurrency', `currency must be a 3-letter ISO 4217 code, got ${describe(currency)}`);
  }
  return code;
}

/** Number of decimal places of the currency's minor unit: JPY 0, USD 2, KWD 3. */
export function currencyExponent(currency: string): number {
  return EXPONENT_EXCEPTIONS[normalizeCurrency(currency)] ?? DEFAULT_EXPONENT;
}

/** Asserts a safe integer (may be negative); `name` is used in the error message. */
export function assertSafeIntegerAmount(value: unknown, name = 'amountMinor'): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new MoneyError('InvalidAmount', `${name} must be an integer number of minor units, got ${describe(value)}`);
  }
  if (!Number.isSafeInteger(value)) {
    throw new MoneyError(
      'UnsafeAmount',
      `${name} must be within ±Number.MAX_SAFE_INTEGER (${Number.MAX_SAFE_INTEGER}), got ${describe(value)}`,
    );
  }
}

/** Asserts a safe, non-negative integer amount of minor units. */
export function assertMinorAmount(value: unknown, name = 'amountMinor'): asserts value is number {
  assertSafeIntegerAmount(value, name);
  if (value < 0) {
    throw new MoneyError('NegativeAmount', `${name} must not be negative, got ${describe(value)}`);
  }
}

/** Asserts a safe, strictly positive integer amount of minor units. */
export function assertPositiveMinorAmount(value: unknown, name = 'amountMinor'): asserts value is number {
  assertMinorAmount(value, name);
  if (value === 0) {
    throw new MoneyError('InvalidAmount', `${name} must be greater than zero, got 0`);
  }
}

/**
 * Largest magnitude (in minor units) whose major-unit decimal has at most 15 significant digits. Any such decimal
 * survives a round trip through an IEEE-754 double, which is what a remote API does when it parses a JSON number
 * (`"total": 123.45`). Amounts above it are exact on our side but could be rounded on theirs.
 */
export const MAX_DOUBLE_EXACT_MINOR = 999_999_999_999_999;

/** Asserts the amount can be sent as a JSON number to a float-parsing API without rounding on the receiving side. */
export function assertDoubleExactAmount(value: unknown, name = 'amountMinor'): asserts value is number {
  assertSafeIntegerAmount(value, name);
  if (Math.abs(value) > MAX_DOUBLE_EXACT_MINOR) {
    throw new MoneyError(
      'UnsafeAmount',
      `${name} ${describe(value)} has more than 15 significant digits and would not survive a JSON float round trip`,
    );
  }
}

/**
 * Exact major-unit decimal string for an amount in minor units: (1999, 'USD') -> "19.99", (5, 'JPY') -> "5",
 * (1234, 'KWD') -> "1.234", (-5, 'USD') -> "-0.05". The result is also a valid JSON number literal.
 */
export function minorToMajorString(amountMinor: number, currency: string): string {
  assertSafeIntegerAmount(amountMinor);
  const exponent = currencyExponent(currency);
  const negative = amountMinor < 0;
  // Safe integers print as plain digits (no exponent notation below 1e21).
  const digits = String(Math.abs(amountMinor));
  let result: string;
  if (exponent === 0) {
    result = digits;
  } else {
    const padded = digits.padStart(exponent + 1, '0');
    result = `${padded.slice(0, padded.length - exponent)}.${padded.slice(padded.length - exponent)}`;
  }
  return negative ? `-${result}` : result;
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Exact minor units for a major-unit decimal: ("19.99", 'USD') -> 1999, (1.234, 'KWD') -> 1234.
 *
 * Accepts a plain decimal string (optional leading '-', digits, optional '.digits'; no exponent, no '+', no
 * whitespace) or a finite number, which is read through its shortest round-trip representation (19.99 -> "19.99"),
 * never through float multiplication. Digits beyond the currency's exponent are rejected unless they are zeros
 * ("19.990" USD is exactly 1999; "19.991" USD is an error). The result must be a safe integer.
 */
export function majorToMinor(value: string | number, currency: string): number {
  const exponent = currencyExponent(currency);
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new MoneyError('InvalidAmount', `amount must be a finite number, got ${describe(value)}`);
    }
    text = Object.is(value, -0) ? '0' : String(value);
  } else if (typeof value === 'string') {
    text = value;
  } else {
    throw new MoneyError('InvalidAmount', `amount must be a decimal string or number, got ${describe(value)}`);
  }
  const match = DECIMAL.exec(text);
  if (!match) {
    throw new MoneyError('InvalidAmount', `amount must be a plain decimal like "12.34", got ${describe(value)}`);
  }
  const sign = match[1] ?? '';
  const whole = match[2] ?? '0';
  const fraction = match[3] ?? '';
  const significantFraction = fraction.replace(/0+$/, '');
  if (significantFraction.length > exponent) {
    throw new MoneyError(
      'TooManyDecimals',
      `amount ${describe(value)} has more than ${exponent} decimal place(s) allowed for ${normalizeCurrency(currency)}`,
    );
  }
  const minorDigits = (whole + significantFraction.padEnd(exponent, '0')).replace(/^0+(?=\d)/, '');
  if (minorDigits.length > 16 || Number(minorDigits) > Number.MAX_SAFE_INTEGER) {
    throw new MoneyError(
      'UnsafeAmount',
      `amount ${describe(value)} ${normalizeCurrency(currency)} exceeds Number.MAX_SAFE_INTEGER minor units`,
    );
  }
  const magnitude = Number(minorDigits);
  return sign === '-' && magnitude !== 0 ? -magnitude : magnitude;
}
