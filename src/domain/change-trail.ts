/**
 * The change trail: who changed a subscription or a cycle, and when. Pure: the machines call `recordChange` when a
 * merchant's request is applied, with the workflow's time; the trail is state, so it crosses continue-as-new.
 *
 * Rules
 * - One entry per accepted change (a request its validator refused never reaches the machine), in the order applied.
 * - An entry names the key id and the merchant of the request (never a key or its hash), the workflow time, and the
 *   update id when the change was an update. A request that named no actor is recorded as `unattributed`.
 * - The trail keeps the last `CHANGE_TRAIL_KEPT` entries, so the state carried across continue-as-new stays small.
 */
import { UNATTRIBUTED_KEY_ID, type ChangeActor, type ChangeKind, type ChangeRecord } from './actor';

export const CHANGE_TRAIL_KEPT = 50;

/** What a merchant request event carries about its request: who asked, and the update id when it was an update. */
export interface ChangeRequest {
  actor?: ChangeActor | undefined;
  updateId?: string | undefined;
}

/** The trail with one more entry, the oldest dropped beyond `CHANGE_TRAIL_KEPT`. The input is not modified. */
export function recordChange(
  trail: readonly ChangeRecord[] | undefined,
  kind: ChangeKind,
  request: ChangeRequest,
  now: number,
): ChangeRecord[] {
  const entry: ChangeRecord = {
    kind,
    keyId: request.actor?.keyId ?? UNATTRIBUTED_KEY_ID,
    merchantId: request.actor?.merchantId ?? UNATTRIBUTED_KEY_ID,
    at: new Date(now).toISOString(),
    ...(request.updateId !== undefined ? { updateId: request.updateId } : {}),
  };
  // The last KEPT entries (all of them while there are fewer).
  return [...(trail ?? []), entry].slice(-CHANGE_TRAIL_KEPT);
}
