import { createHmac } from 'node:crypto';
import { signPayload, verifyMerchantWebhook } from '../../../../src/integrations/merchant-webhooks';

const SECRET = 'whsec_test_2f6c1d0a9b';
const OTHER = 'whsec_next_77e1b4c2aa';
const BODY = JSON.stringify({ id: 'cycle:sub_1:3:paid', type: 'cycle.paid', amount: 1999 });
const T = 1_800_000_000;

const hmac = (secret: string, payload: string): string => createHmac('sha256', secret).update(payload).digest('hex');

describe('signPayload', () => {
  it('produces t=<ts>,v1=<HMAC-SHA256 of "ts.body">', () => {
    expect(signPayload(BODY, SECRET, T)).toBe(`t=${T},v1=${hmac(SECRET, `${T}.${BODY}`)}`);
  });

  it('adds one v1 per secret while rotating', () => {
    const header = signPayload(BODY, [SECRET, OTHER], T);
    expect(header).toBe(`t=${T},v1=${hmac(SECRET, `${T}.${BODY}`)},v1=${hmac(OTHER, `${T}.${BODY}`)}`);
  });

  it('signs UTF-8 bytes (non-ASCII bodies verify from a Buffer too)', () => {
    const body = JSON.stringify({ customer: 'Bjørn Ærø', note: '支払い済み ✓' });
    const header = signPayload(body, SECRET, T);
    expect(verifyMerchantWebhook({ rawBody: Buffer.from(body, 'utf8'), header, secrets: [SECRET], nowSec: T })).toEqual(
      { ok: true, timestamp: T },
    );
  });

  it('refuses empty secrets and bad timestamps without echoing the secret', () => {
    expect(() => signPayload(BODY, '', T)).toThrow(/secret/);
    expect(() => signPayload(BODY, [], T)).toThrow(/secret/);
    expect(() => signPayload(BODY, [SECRET, ''], T)).toThrow(/secret/);
    expect(() => signPayload(BODY, SECRET, 1.5)).toThrow(/timestampSec/);
    expect(() => signPayload(BODY, SECRET, -1)).toThrow(/timestampSec/);
    try {
      signPayload(BODY, [SECRET, ''], T);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(SECRET);
    }
  });
});

describe('verifyMerchantWebhook', () => {
  const header = signPayload(BODY, SECRET, T);
  const verify = (overrides: Partial<Parameters<typeof verifyMerchantWebhook>[0]>) =>
    verifyMerchantWebhook({ rawBody: BODY, header, secrets: [SECRET], nowSec: T, ...overrides });

  it('accepts a valid signature, from a string or a Buffer', () => {
    expect(verify({})).toEqual({ ok: true, timestamp: T });
    expect(verify({ rawBody: Buffer.from(BODY) })).toEqual({ ok: true, timestamp: T });
  });

  it('rejects a tampered body, a wrong secret and a tampered timestamp', () => {
    expect(verify({ rawBody: BODY.replace('1999', '1') })).toEqual({ ok: false, reason: 'no_matching_signature' });
    expect(verify({ rawBody: `${BODY} ` })).toEqual({ ok: false, reason: 'no_matching_signature' });
    expect(verify({ secrets: [OTHER] })).toEqual({ ok: false, reason: 'no_matching_signature' });
    expect(verify({ secrets: [] })).toEqual({ ok: false, reason: 'no_matching_signature' });
    expect(verify({ secrets: [''] })).toEqual({ ok: false, reason: 'no_matching_signature' });
    expect(verify({ header: header.replace(`t=${T}`, `t=${T + 1}`) })).toEqual({
      ok: false,
      reason: 'no_matching_signature',
    });
  });

  it('enforces the 300 s tolerance by default, in both directions', () => {
    expect(verify({ nowSec: T + 300 })).toEqual({ ok: true, timestamp: T });
    expect(verify({ nowSec: T + 301 })).toEqual({ ok: false, reason: 'timestamp_outside_tolerance' });
    expect(verify({ nowSec: T - 300 })).toEqual({ ok: true, timestamp: T });
    expect(verify({ nowSec: T - 301 })).toEqual({ ok: false, reason: 'timestamp_outside_tolerance' });
    expect(verify({ nowSec: T + 3600, toleranceSec: 3600 })).toEqual({ ok: true, timestamp: T });
    expect(verify({ nowSec: T + 11, toleranceSec: 10 })).toEqual({ ok: false, reason: 'timestamp_outside_tolerance' });
  });

  it('uses the system clock when nowSec is not given', () => {
    const now = Math.floor(Date.now() / 1000);
    const fresh = signPayload(BODY, SECRET, now);
    expect(verifyMerchantWebhook({ rawBody: BODY, header: fresh, secrets: [SECRET] }).ok).toBe(true);
    expect(verifyMerchantWebhook({ rawBody: BODY, header, secrets: [SECRET] })).toEqual({
      ok: false,
      reason: 'timestamp_outside_tolerance',
    });
  });

  it('accepts any matching v1 against any configured secret (rotation on either side)', () => {
    const both = signPayload(BODY, [OTHER, SECRET], T);
    expect(verify({ header: both, secrets: [SECRET] })).toEqual({ ok: true, timestamp: T });
    expect(verify({ header: both, secrets: [OTHER] })).toEqual({ ok: true, timestamp: T });
    expect(verify({ header, secrets: [OTHER, SECRET] })).toEqual({ ok: true, timestamp: T });
    expect(verify({ header: `${header},v0=deadbeef` })).toEqual({ ok: true, timestamp: T });
    expect(verify({ header: `t=${T},v1=${'0'.repeat(64)},${header.split(',')[1]}` })).toEqual({
      ok: true,
      timestamp: T,
    });
  });

  it.each<[string, string | undefined, string]>([
    ['absent', undefined, 'missing_header'],
    ['empty', '', 'missing_header'],
    ['blank', '   ', 'missing_header'],
    ['no timestamp', `v1=${'a'.repeat(64)}`, 'malformed_header'],
    ['no v1', `t=${T}`, 'malformed_header'],
    ['non-numeric timestamp', `t=soon,v1=${'a'.repeat(64)}`, 'malformed_header'],
    ['two timestamps', `t=${T},t=${T},v1=${'a'.repeat(64)}`, 'malformed_header'],
    ['garbage', 'sha256=abc', 'malformed_header'],
    ['item without =', `t=${T},v1`, 'malformed_header'],
    ['v1 not hex', `t=${T},v1=not-a-signature`, 'no_matching_signature'],
    ['v1 too short', `t=${T},v1=abcd`, 'no_matching_signature'],
  ])('header %s -> %s', (_name, value, reason) => {
    expect(verify({ header: value })).toEqual({ ok: false, reason });
  });
});
