/**
 * QorePay webhook ingress: verify the raw body's signature, re-read the Purchase from the gateway (the webhook is a
 * hint, the gateway the truth), route by the Purchase `reference` and hand the event to the workflow through the
 * engine's WebhookIngress (a cycle's status change to the cycle, a refund or chargeback to its subscription). Framework-free
 * so the HTTP route, the workflow tests and the benchmark share it.
 */
import { BillingNotFoundError } from '@temporal-billing/client';
import type { WebhookIngress } from '@temporal-billing/client/engine';
import { purchaseStatusTraits } from '../domain/purchase-status';
import { isQorePayError, snapshotOf, type QorePayClient, type QorePayWebhookVerifier } from '../integrations/qorepay';
import { parseCycleWorkflowId, type GatewayEvent } from '../shared/billing-cycle';
import type { PaymentEventSignal } from '../shared/subscription';
import type { Logger } from '../logger';

/** Gateway payment events and the subscription event each one becomes. */
const PAYMENT_EVENT_KINDS: Record<string, PaymentEventSignal['kind'] | undefined> = {
  'payment.refunded': 'refund',
  'payment.charged_back': 'chargeback',
  'payment.chargeback_reversed': 'chargeback_reversed',
};

export interface WebhookIngressDeps {
  verifier: Pick<QorePayWebhookVerifier, 'verify'>;
  qorepay: Pick<QorePayClient, 'getPurchase'>;
  /** How events reach the workflows (not a merchant's client: the ingress of the engine entry point). */
  ingress: Pick<WebhookIngress, 'deliverGatewayEvent' | 'deliverPaymentEvent'>;
  logger: Logger;
}

export interface WebhookOutcome {
  status: 200 | 401 | 400 | 503;
  body: { ok: boolean; outcome: string };
}

export async function handleQorePayWebhook(
  deps: WebhookIngressDeps,
  rawBody: Buffer,
  signature: string | string[] | undefined,
): Promise<WebhookOutcome> {
  const log = deps.logger;
  let verification;
  try {
    verification = await deps.verifier.verify(rawBody, signature);
  } catch (err) {
    // The company key could not be fetched: let the gateway retry later.
    log.error({ err: errorMessage(err) }, 'qorepay webhook: could not verify (public key unavailable)');
    return { status: 503, body: { ok: false, outcome: 'verification_unavailable' } };
  }
  if (!verification.ok) {
    log.warn({ reason: verification.reason }, 'qorepay webhook rejected');
    return verification.reason === 'invalid_body'
      ? { status: 400, body: { ok: false, outcome: verification.reason } }
      : { status: 401, body: { ok: false, outcome: verification.reason } };
  }
  const event = verification.event;
  const purchaseId =
    event.objectType === 'purchase'
      ? event.purchase.id
      : event.objectType === 'payment' && event.payment.related_to?.type === 'purchase'
        ? event.payment.related_to.id
        : undefined;
  if (!purchaseId) {
    log.info({ eventType: event.eventType }, 'qorepay webhook: event not about a purchase; ignored');
    return { status: 200, body: { ok: true, outcome: 'ignored' } };
  }

  let purchase;
  try {
    purchase = await deps.qorepay.getPurchase(purchaseId);
  } catch (err) {
    if (isQorePayError(err) && err.kind === 'NotFound') {
      log.warn({ purchaseId, eventType: event.eventType }, 'qorepay webhook: purchase unknown to the gateway; ignored');
      return { status: 200, body: { ok: true, outcome: 'unknown_purchase' } };
    }
    log.error({ purchaseId, err: errorMessage(err) }, 'qorepay webhook: could not re-read the purchase');
    return { status: 503, body: { ok: false, outcome: 'gateway_unavailable' } };
  }
  const route = purchase.reference ? parseCycleWorkflowId(purchase.reference) : undefined;
  if (!route) {
    log.info(
      { purchaseId, reference: purchase.reference, eventType: event.eventType },
      'qorepay webhook: reference is not ours',
    );
    return { status: 200, body: { ok: true, outcome: 'not_ours' } };
  }
  const cycleId = purchase.reference!;

  try {
    if (event.objectType === 'payment') {
      const kind = PAYMENT_EVENT_KINDS[event.eventType];
      if (!kind) {
        log.info({ cycleId, eventType: event.eventType }, 'qorepay webhook: payment event not routed');
        return { status: 200, body: { ok: true, outcome: 'ignored' } };
      }
      const amount = event.payment.payment?.amount;
      await deps.ingress.deliverPaymentEvent({
        kind,
        cycleId,
        purchaseId,
        paymentId: event.payment.id,
        ...(typeof amount === 'number' ? { amountMinor: amount } : {}),
      });
      log.info({ cycleId, kind }, 'qorepay webhook: payment event routed to the subscription');
      return { status: 200, body: { ok: true, outcome: 'routed' } };
    }
    const snap = snapshotOf(purchase);
    if (!purchaseStatusTraits(snap.status).concludesCharge) {
      // created, pending_*, hold, viewed...: nothing a cycle acts on (src/domain/purchase-status.ts, concludesCharge);
      // the history stays free of noise.
      log.debug({ cycleId, eventType: event.eventType, status: snap.status }, 'qorepay webhook: no action');
      return { status: 200, body: { ok: true, outcome: 'no_action' } };
    }
    const signal: GatewayEvent = {
      eventType: event.eventType,
      purchaseId,
      status: snap.status,
      updatedOn: snap.updatedOn,
      ...(snap.declineCode ? { declineCode: snap.declineCode } : {}),
      ...(snap.declineMessage ? { declineMessage: snap.declineMessage } : {}),
      ...(snap.markedAsPaid ? { markedAsPaid: true } : {}),
    };
    await deps.ingress.deliverGatewayEvent(cycleId, signal);
    log.info({ cycleId, eventType: event.eventType, status: snap.status }, 'qorepay webhook routed');
    return { status: 200, body: { ok: true, outcome: 'signaled' } };
  } catch (err) {
    if (err instanceof BillingNotFoundError) {
      log.info({ cycleId, eventType: event.eventType }, 'qorepay webhook: cycle already finished or unknown');
      return { status: 200, body: { ok: true, outcome: 'cycle_closed' } };
    }
    log.error(
      { cycleId, err: errorMessage(err) },
      'qorepay webhook: Temporal unreachable; asking the gateway to retry',
    );
    return { status: 503, body: { ok: false, outcome: 'temporal_unavailable' } };
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
