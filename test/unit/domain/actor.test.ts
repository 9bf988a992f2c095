/**
 * Who made a change (src/domain/actor.ts): the key-id rule as the config, the client and the API apply it, the rule's
 * wording, the two key ids the engine stamps by itself, and the kinds of change a trail records.
 */
import fc from 'fast-check';
import {
  CHANGE_KINDS,
  KEY_ID_PATTERN,
  KEY_ID_RULE,
  LIBRARY_KEY_ID,
  MERCHANT_ID_RULE,
  UNATTRIBUTED_KEY_ID,
} from '../../../src/domain/actor';

const KEY_ID_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'];
const keyIdChar = fc.constantFrom(...KEY_ID_CHARS);
const runs = { numRuns: Number(process.env.FC_RUNS ?? 300) };

describe('KEY_ID_PATTERN: 1 to 64 characters from A-Z, a-z, 0-9, ".", "_" and "-"', () => {
  it('accepts every id of 1 to 64 such characters', () => {
    fc.assert(
      fc.property(fc.array(keyIdChar, { minLength: 1, maxLength: 64 }), (chars) => {
        expect(KEY_ID_PATTERN.test(chars.join(''))).toBe(true);
      }),
      runs,
    );
  });

  it('refuses the empty id and ids longer than 64', () => {
    expect(KEY_ID_PATTERN.test('')).toBe(false);
    fc.assert(
      fc.property(fc.array(keyIdChar, { minLength: 65, maxLength: 200 }), (chars) => {
        expect(KEY_ID_PATTERN.test(chars.join(''))).toBe(false);
      }),
      runs,
    );
  });

  it('refuses an id with any other character anywhere (a space, a slash, a newline, a colon, a non-ASCII letter)', () => {
    const other = fc.constantFrom(' ', '/', '\n', ':', '@', '+', 'é', '\u0000', '*', '?');
    fc.assert(
      fc.property(
        fc.array(keyIdChar, { maxLength: 30 }),
        other,
        fc.array(keyIdChar, { maxLength: 30 }),
        (before, bad, after) => {
          expect(KEY_ID_PATTERN.test([...before, bad, ...after].join(''))).toBe(false);
        },
      ),
      runs,
    );
  });

  it('every character of the alphabet is allowed at the start, in the middle and at the end', () => {
    for (const c of KEY_ID_CHARS) {
      expect(KEY_ID_PATTERN.test(c)).toBe(true);
      expect(KEY_ID_PATTERN.test(`${c}a${c}`)).toBe(true);
    }
  });
});

describe('the rules as the errors word them', () => {
  it('name the length bounds and every allowed character, the key id with "." and the merchant id without', () => {
    for (const rule of [KEY_ID_RULE, MERCHANT_ID_RULE]) {
      expect(rule).toMatch(/^must be 1 to 64 characters from A-Z, a-z, 0-9, /);
      expect(rule).toContain('"_" and "-"');
    }
    expect(KEY_ID_RULE).toContain('"."');
    expect(MERCHANT_ID_RULE).not.toContain('"."');
  });
});

describe('the key ids the engine stamps by itself', () => {
  it('are valid key ids, distinct, and say what they stand for', () => {
    expect(LIBRARY_KEY_ID).toBe('library');
    expect(UNATTRIBUTED_KEY_ID).toBe('unattributed');
    expect(KEY_ID_PATTERN.test(LIBRARY_KEY_ID)).toBe(true);
    expect(KEY_ID_PATTERN.test(UNATTRIBUTED_KEY_ID)).toBe(true);
  });
});

describe('CHANGE_KINDS', () => {
  it('are the changes a merchant or an operator can make, each once', () => {
    expect([...CHANGE_KINDS].sort()).toEqual(
      [
        'cancel',
        'chargeback',
        'create',
        'mark_paid',
        'pause',
        'payment_method',
        'plan_change',
        'refund',
        'resume',
        'retry_now',
        'retry_settlement',
      ].sort(),
    );
    expect(new Set(CHANGE_KINDS).size).toBe(CHANGE_KINDS.length);
  });
});
