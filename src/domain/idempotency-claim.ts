/**
 * Claims on an Idempotency-Key: two requests racing with one key must not both run the change (Stripe's semantics:
 * the second gets the first's answer, or "still in progress"). Pure: the key's workflow (src/workflows/
 * idempotency-key.ts) asks `decideClaim` with its own time and does what it says.
 *
 * Rules
 * - A request whose fingerprint differs from the key's first request is a different request, answered or not.
 * - A recorded answer is the answer: nothing runs again.
 * - Otherwise the claim is granted when nobody holds one, when the holder's lease ran out (its process died: the key
 *   is not blocked for its 24 h), or to the holder itself asking again. A claim lasts `leaseMs` of workflow time.
 * - Otherwise another request holds a live claim: wait (at most until its lease runs out) for its answer or release.
 */

/** The first request's lease: long enough for any change (refunds wait for the gateway), short enough to recover. */
export const CLAIM_LEASE_MS = 60_000;
/** How long a second request waits for the first one's answer before it is told "in progress". */
export const CLAIM_WAIT_MS = 30_000;

export interface IdempotencyClaim {
  claimId: string;
  /** Workflow time (epoch ms) when the claim lapses unless answered or released. */
  expiresAt: number;
}

export interface ClaimState {
  requestHash: string;
  answered: boolean;
  claim?: IdempotencyClaim | undefined;
}

export interface ClaimRequest {
  claimId: string;
  requestHash: string;
  leaseMs: number;
}

export type ClaimDecision =
  | { kind: 'different_request' }
  | { kind: 'answered' }
  | { kind: 'granted'; claim: IdempotencyClaim }
  | { kind: 'wait'; holder: IdempotencyClaim };

export function decideClaim(state: ClaimState, request: ClaimRequest, now: number): ClaimDecision {
  if (request.requestHash !== state.requestHash) return { kind: 'different_request' };
  if (state.answered) return { kind: 'answered' };
  const held = state.claim;
  if (held === undefined || held.expiresAt <= now || held.claimId === request.claimId) {
    return { kind: 'granted', claim: { claimId: request.claimId, expiresAt: now + request.leaseMs } };
  }
  return { kind: 'wait', holder: held };
}

/** The claim after its holder released it: gone if it was this claimant's, unchanged otherwise. */
export function releaseClaim(claim: IdempotencyClaim | undefined, claimId: string): IdempotencyClaim | undefined {
  return claim?.claimId === claimId ? undefined : claim;
}

/** A requested duration kept within bounds (a caller cannot hold a key for hours or wait forever). */
export function boundedMs(requested: number | undefined, fallback: number, min: number, max: number): number {
  if (requested === undefined || !Number.isFinite(requested)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(requested)));
}
