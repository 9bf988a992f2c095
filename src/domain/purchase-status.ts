/**
 * QorePay (CHIP Collect) Purchase statuses and what each one means to the engine: the one table that the zod enum
 * (src/integrations/qorepay/schemas.ts), the gateway activities, the webhook ingress, the sandbox and the billing-cycle
 * machine read. A status's meaning is written here and nowhere else.
 *
 * Rules (from the gateway reference, section "Purchase statuses"):
 * - Money is taken in `paid`, `cleared`, `settled`, and stays taken through a refund or chargeback (`pending_refund`,
 *   `refunded`, `chargeback`/`charged_back`): a Purchase in any of them paid its period.
 * - A charge is in flight while the acquirer processes it (`pending_execute`, `pending_charge`) and while funds on hold
 *   are captured or released (`hold`, `pending_capture`, `pending_release`): its outcome decides; the engine waits for it
 *   with a timer (webhook or poll) and never charges again, never closes the cycle as "no money" meanwhile.
 * - `error` and `blocked` are declined attempts; `error` can be charged again, `blocked` cannot (fraud checks).
 * - `cancelled`, `expired`, `released` can take no money any more; nor can `preauthorized` (a zero-amount card check:
 *   it saved a card, it is not a renewal that can be charged).
 * - `created`, `sent`, `viewed`, `overdue` are open: payable, nothing taken, nothing in flight.
 * - A status the gateway adds later is unknown to this table: it is treated as a charge in flight (wait and re-read,
 *   never charge again, never conclude "no money") until the table names it.
 */

export interface PurchaseStatusTraits {
  /** The gateway's meaning, paraphrased. */
  meaning: string;
  /** The money was taken (it may have been reversed since): a charge of this Purchase succeeded. */
  moneyTaken: boolean;
  /** Taken, then (partly) refunded or charged back, or a refund is in flight. */
  reversed: boolean;
  /** The acquirer is still processing (a charge, a capture or a release): wait for the outcome, never charge again. */
  chargeInFlight: boolean;
  /** The last charge attempt failed (`error`: the payer's instrument; `blocked`: fraud or security checks). */
  declined: boolean;
  /** The Purchase can take no money any more. */
  closed: boolean;
  /** A recurring-token charge may be sent (`POST /purchases/{id}/charge/`). */
  chargeable: boolean;
  /** `POST /purchases/{id}/cancel/` is accepted. */
  cancellable: boolean;
  /** `POST /purchases/{id}/refund/` is accepted (within `refundable_amount`). */
  refundable: boolean;
  /** A `purchase.*` webhook in this status concludes a charge or closes the Purchase: the cycle is told of it. */
  concludesCharge: boolean;
  /** The Purchase can serve as a recurring token (when `is_recurring_token`). */
  savesToken: boolean;
}

const NONE: Omit<PurchaseStatusTraits, 'meaning'> = {
  moneyTaken: false,
  reversed: false,
  chargeInFlight: false,
  declined: false,
  closed: false,
  chargeable: false,
  cancellable: false,
  refundable: false,
  concludesCharge: false,
  savesToken: false,
};

const open = (meaning: string): PurchaseStatusTraits => ({ ...NONE, meaning, chargeable: true, cancellable: true });
const inFlight = (meaning: string): PurchaseStatusTraits => ({ ...NONE, meaning, chargeInFlight: true });
const taken = (meaning: string, extra: Partial<PurchaseStatusTraits> = {}): PurchaseStatusTraits => ({
  ...NONE,
  meaning,
  moneyTaken: true,
  ...extra,
});
const closed = (meaning: string, extra: Partial<PurchaseStatusTraits> = {}): PurchaseStatusTraits => ({
  ...NONE,
  meaning,
  closed: true,
  concludesCharge: true,
  ...extra,
});

export const PURCHASE_STATUS_TABLE = {
  created: open('open: payable'),
  sent: open('open: payable (sent to the payer)'),
  viewed: open('open: payable (the payer opened the checkout)'),
  overdue: open('open: past `due` but still payable'),
  error: {
    ...NONE,
    meaning: "an attempt failed because of the payer's instrument; not terminal",
    declined: true,
    chargeable: true,
    cancellable: true,
    concludesCharge: true,
  },
  blocked: {
    ...NONE,
    meaning: 'an attempt was stopped by fraud or security checks; refuses further charges, cannot be cancelled',
    declined: true,
    closed: true,
    concludesCharge: true,
  },
  pending_execute: inFlight('the acquirer is still processing the charge'),
  pending_charge: inFlight('the acquirer is still processing the charge'),
  hold: inFlight('authorised: funds on hold, to be captured or released'),
  pending_capture: inFlight('capture of funds on hold in flight'),
  pending_release: inFlight('release of funds on hold in flight'),
  preauthorized: closed('zero-amount card check done; the card is saved; no money', { savesToken: true }),
  paid: taken('paid', { refundable: true, concludesCharge: true, savesToken: true }),
  cleared: taken('paid; a later card-network stage', { refundable: true, concludesCharge: true, savesToken: true }),
  settled: taken('paid; a later card-network stage', { refundable: true, concludesCharge: true, savesToken: true }),
  pending_refund: taken('paid; a refund is in flight', { reversed: true }),
  refunded: taken('paid, then refunded fully or partly', { reversed: true, refundable: true }),
  chargeback: taken('paid, then charged back (CHIP name)', { reversed: true }),
  charged_back: taken('paid, then charged back (QorePay name)', { reversed: true }),
  cancelled: closed('cancelled: can no longer be paid'),
  expired: closed('past `due` with `due_strict`: can no longer be paid'),
  released: closed('funds on hold released: can no longer be paid'),
} as const satisfies Record<string, PurchaseStatusTraits>;

export type PurchaseStatus = keyof typeof PURCHASE_STATUS_TABLE;

/** Every status the gateway documents, in the table's order (the zod enum is built from it). */
export const PURCHASE_STATUSES = Object.keys(PURCHASE_STATUS_TABLE) as [PurchaseStatus, ...PurchaseStatus[]];

/** What a status the table does not name is taken to be: in flight (wait, re-read, never charge, never close). */
export const UNKNOWN_STATUS_TRAITS: PurchaseStatusTraits = inFlight('not in the table: treated as in flight');

export const isKnownPurchaseStatus = (s: string): s is PurchaseStatus =>
  Object.prototype.hasOwnProperty.call(PURCHASE_STATUS_TABLE, s);

export function purchaseStatusTraits(s: string): PurchaseStatusTraits {
  return isKnownPurchaseStatus(s) ? PURCHASE_STATUS_TABLE[s] : UNKNOWN_STATUS_TRAITS;
}

/** The statuses that have one trait, in the table's order. */
export const statusesWhere = (trait: keyof Omit<PurchaseStatusTraits, 'meaning'>): PurchaseStatus[] =>
  PURCHASE_STATUSES.filter((s) => PURCHASE_STATUS_TABLE[s][trait]);

/** The money was taken (refunds and chargebacks happen only to paid Purchases). */
export const isMoneyTakenStatus = (s: string): boolean => purchaseStatusTraits(s).moneyTaken;
/** A charge (or capture/release) is at the gateway: its outcome decides. Unknown statuses count as in flight. */
export const isChargeInFlightStatus = (s: string): boolean => purchaseStatusTraits(s).chargeInFlight;
export const isDeclinedStatus = (s: string): boolean => purchaseStatusTraits(s).declined;
/** Can take no money any more (closed statuses, and blocked). */
export const isClosedStatus = (s: string): boolean => purchaseStatusTraits(s).closed;
/** Open: payable, nothing taken, nothing in flight, no failed attempt. */
export const isOpenStatus = (s: string): boolean => {
  const t = purchaseStatusTraits(s);
  return t.chargeable && !t.declined;
};
