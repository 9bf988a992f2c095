/** The claim rules of an Idempotency-Key (src/domain/idempotency-claim.ts), one case per rule. */
import {
  CLAIM_LEASE_MS,
  boundedMs,
  decideClaim,
  releaseClaim,
  type ClaimState,
} from '../../../src/domain/idempotency-claim';

const NOW = Date.UTC(2027, 0, 1);
const hash = 'a'.repeat(64);
const ask = (claimId: string, requestHash = hash) => ({ claimId, requestHash, leaseMs: CLAIM_LEASE_MS });
const held: ClaimState = { requestHash: hash, answered: false, claim: { claimId: 'first', expiresAt: NOW + 1000 } };

it('a different fingerprint is a different request, answered or not', () => {
  expect(decideClaim(held, ask('x', 'b'.repeat(64)), NOW)).toEqual({ kind: 'different_request' });
  expect(decideClaim({ ...held, answered: true }, ask('x', 'b'.repeat(64)), NOW)).toEqual({
    kind: 'different_request',
  });
});

it('a recorded answer is the answer, even while a claim is held', () => {
  expect(decideClaim({ ...held, answered: true }, ask('x'), NOW)).toEqual({ kind: 'answered' });
});

it('grants a free key, a lapsed claim, and the holder asking again; each with a fresh lease', () => {
  const lease = { kind: 'granted', claim: { claimId: 'x', expiresAt: NOW + CLAIM_LEASE_MS } };
  expect(decideClaim({ requestHash: hash, answered: false }, ask('x'), NOW)).toEqual(lease);
  expect(decideClaim(held, ask('x'), NOW + 1000)).toEqual({
    kind: 'granted',
    claim: { claimId: 'x', expiresAt: NOW + 1000 + CLAIM_LEASE_MS },
  });
  expect(decideClaim(held, ask('first'), NOW)).toEqual({
    kind: 'granted',
    claim: { claimId: 'first', expiresAt: NOW + CLAIM_LEASE_MS },
  });
});

it('another live claim: wait for its holder', () => {
  expect(decideClaim(held, ask('second'), NOW + 999)).toEqual({ kind: 'wait', holder: held.claim });
});

it('only the holder releases its claim', () => {
  expect(releaseClaim(held.claim, 'second')).toEqual(held.claim);
  expect(releaseClaim(held.claim, 'first')).toBeUndefined();
});

it('requested durations are kept within bounds', () => {
  expect(boundedMs(undefined, 5, 1, 10)).toBe(5);
  expect(boundedMs(Number.NaN, 5, 1, 10)).toBe(5);
  expect(boundedMs(1e12, 5, 1, 10)).toBe(10);
  expect(boundedMs(-3, 5, 1, 10)).toBe(1);
});
