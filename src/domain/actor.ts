/**
 * Who made a change: the API key (by its id, never the key or its hash) and the merchant it acted for. Every change
 * made through the BillingClient carries one into the Temporal update, signal or start arguments, so it is recorded
 * in workflow history, and the subscription (and the cycle, for changes that land on a cycle) keeps a bounded trail
 * of them (src/domain/change-trail.ts). Defined once here; the API, the client and the config derive from it.
 *
 * A BillingClient made without a key id (a merchant backend using the library directly) stamps its changes with
 * `LIBRARY_KEY_ID`; a change that reached a workflow without any actor (a caller that bypassed the client, or a
 * request sent before actors existed) is recorded with `UNATTRIBUTED_KEY_ID`.
 *
 * No imports: the domain machines and the workflows load this file (their bundle must stay small and deterministic);
 * it lives in the domain so the domain imports no contracts, and src/shared/actor.ts re-exports it;
 * the zod schemas of the same shapes, for the edges, are in src/shared/actor-schema.ts.
 */

/** An API key's id, as configured (`API_KEYS` JSON `id`). */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const KEY_ID_RULE = 'must be 1 to 64 characters from A-Z, a-z, 0-9, ".", "_" and "-"';
export const MERCHANT_ID_RULE = 'must be 1 to 64 characters from A-Z, a-z, 0-9, "_" and "-"';

/** The key id of changes made by a BillingClient that was given none (library users). */
export const LIBRARY_KEY_ID = 'library';
/** The key id recorded for a change whose request named no actor. */
export const UNATTRIBUTED_KEY_ID = 'unattributed';

export interface ChangeActor {
  /** The API key's id (not a secret); `library` for a BillingClient used without one. */
  keyId: string;
  /** The merchant the key acts for. */
  merchantId: string;
}

/** What a request carries about itself into a workflow message (an optional field of every change's arguments). */
export interface ChangeActorArg {
  actor?: ChangeActor | undefined;
}

/** The kinds of change a trail records. */
export const CHANGE_KINDS = [
  'create',
  'cancel',
  'pause',
  'resume',
  'payment_method',
  'plan_change',
  'refund',
  'chargeback',
  'mark_paid',
  'retry_now',
  'retry_settlement',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** One entry of a subscription's or a cycle's change trail. */
export interface ChangeRecord {
  kind: ChangeKind;
  keyId: string;
  merchantId: string;
  /** Workflow time of the change, ISO 8601. */
  at: string;
  /** The Temporal update id of the change, where it was an update (a create is a workflow start). */
  updateId?: string;
}
