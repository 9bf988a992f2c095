/**
 * Merchant operations of a chaos run, sent as the BillingClient sends them (Temporal updates with the caller's
 * idempotency key as the update id). Each records when it was acknowledged, in real and simulated time.
 */
import type { Client } from '@temporalio/client';
import { markPaidUpdate, retryNowUpdate } from '../../src/shared/billing-cycle';
import {
  cancelSubscriptionUpdate,
  changePlanUpdate,
  chargebackUpdate,
  pauseSubscriptionUpdate,
  refundUpdate,
  resumeSubscriptionUpdate,
  subscriptionStateQuery,
  subscriptionWorkflowId,
  updatePaymentMethodUpdate,
  type SubscriptionState,
} from '../../src/shared/subscription';
import type { OpRecord } from './invariants';
import type { PlannedOp } from './plan';

const CHARGEBACK_REASON = '6d1f0b3e-5a0c-4e4b-9c0e-0a3c1b2d4e51';
const OP_TIMEOUT_MS = 60_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

const messageOf = (err: unknown): string => {
  const e = err as { message?: string; cause?: { message?: string } };
  return [e.message, e.cause?.message].filter(Boolean).join(': ').slice(0, 200);
};

/** What the driver can do at the gateway and the settlement target for the condition ops (see plan.ts). */
export interface ChaosControls {
  /** The Purchase of a cycle's charge request (success or pending) from the gateway ledger, newest first. */
  purchaseOf(cycleId: string, outcome: 'success' | 'pending'): Promise<string | undefined>;
  /** A refund at the gateway outside the engine; the refund Payment's id and amount, or why it was refused. */
  refundAtGateway(purchaseId: string, amount?: number): Promise<{ id: string; amount: number } | { refused: string }>;
  refundable(purchaseId: string): Promise<number>;
  resolvePending(purchaseId: string): Promise<boolean>;
  /** The settlement target fails every request (true) or answers again (false). */
  targetOutage(down: boolean): Promise<void>;
}

/** How long (real time) the driver reads a subscription whose stop answer named cycles not yet stopped. */
const STOP_CONFIRM_WAIT_MS = 180_000;

/** Sends one planned operation; never throws (a refusal is an outcome). */
export async function performOp(
  client: Client,
  subscriptionId: string,
  op: PlannedOp,
  simNow: () => Promise<number>,
  plan: { currency: string; controls?: ChaosControls },
): Promise<OpRecord[]> {
  const rec: OpRecord = { subscriptionId, kind: op.kind, simAt: await simNow(), outcome: 'ok' };
  const out: OpRecord[] = [rec];
  const sub = client.workflow.getHandle(subscriptionWorkflowId(subscriptionId));
  const ack = async () => {
    rec.realAck = Date.now();
    rec.simAck = await simNow();
  };
  // A stop answered with `cyclesStopping` is accepted, not in effect: read the subscription until it is (or give up).
  const stopAnswer = async (s: SubscriptionState) => {
    await ack();
    if (!s.cyclesStopping?.length) {
      rec.realEffective = rec.realAck!;
      return;
    }
    rec.stopping = [...s.cyclesStopping];
    const until = Date.now() + STOP_CONFIRM_WAIT_MS;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      const now = await withTimeout(sub.query(subscriptionStateQuery), OP_TIMEOUT_MS).catch(() => undefined);
      if (now && !now.cyclesStopping?.length) {
        rec.realEffective = Date.now();
        return;
      }
    }
  };
  const controls = () => {
    if (!plan.controls) throw new Error(`${op.kind}: this mode has no gateway controls`);
    return plan.controls;
  };
  const cycleOf = (period: number) => `cycle:${subscriptionId}:${period}`;
  const paidCycle = (s: SubscriptionState) =>
    [...s.recentCycles].reverse().find((c) => (c.status === 'paid' || c.status === 'marked_paid') && c.purchaseId);
  try {
    switch (op.kind) {
      case 'cancel_now':
      case 'cancel_period_end': {
        const s = await withTimeout(
          sub.executeUpdate(cancelSubscriptionUpdate, {
            args: [{ mode: op.kind === 'cancel_now' ? 'now' : 'period_end', reason: 'chaos' }],
          }),
          OP_TIMEOUT_MS,
        );
        rec.nextPeriodIndex = s.nextPeriodIndex;
        await stopAnswer(s);
        break;
      }
      case 'pause':
        await stopAnswer(await withTimeout(sub.executeUpdate(pauseSubscriptionUpdate, { args: [{}] }), OP_TIMEOUT_MS));
        break;
      case 'resume':
        await withTimeout(sub.executeUpdate(resumeSubscriptionUpdate, { args: [{}] }), OP_TIMEOUT_MS);
        await ack();
        break;
      case 'new_card':
        await withTimeout(
          sub.executeUpdate(updatePaymentMethodUpdate, { args: [{ recurringToken: op.token! }] }),
          OP_TIMEOUT_MS,
        );
        await ack();
        rec.detail = `now ${op.scenario}`;
        break;
      case 'change_plan':
        await withTimeout(
          sub.executeUpdate(changePlanUpdate, {
            args: [
              {
                plan: {
                  planId: 'chaos-2',
                  currency: plan.currency,
                  lineItems: [{ name: 'Plan B', priceMinor: op.priceMinor!, quantity: 1 }],
                },
              },
            ],
          }),
          OP_TIMEOUT_MS,
        );
        await ack();
        break;
      case 'retry_now':
      case 'mark_paid': {
        const s = await withTimeout(sub.query(subscriptionStateQuery), OP_TIMEOUT_MS);
        const cycleId = s.cyclesInFlight[0];
        if (!cycleId) {
          rec.outcome = 'skipped';
          rec.detail = 'no cycle in flight';
          break;
        }
        rec.cycleId = cycleId;
        const cycle = client.workflow.getHandle(cycleId);
        if (op.kind === 'retry_now')
          await withTimeout(cycle.executeUpdate(retryNowUpdate, { args: [{}] }), OP_TIMEOUT_MS);
        else await withTimeout(cycle.executeUpdate(markPaidUpdate, { args: [{ note: 'chaos' }] }), OP_TIMEOUT_MS);
        await ack();
        break;
      }
      case 'refund_full':
      case 'refund_partial': {
        const s = await withTimeout(sub.query(subscriptionStateQuery), OP_TIMEOUT_MS);
        const c = paidCycle(s);
        if (!c) {
          rec.outcome = 'skipped';
          rec.detail = 'no paid cycle';
          break;
        }
        rec.cycleId = c.cycleId;
        rec.purchaseId = c.purchaseId!;
        rec.key = op.key!;
        const amountMinor =
          op.kind === 'refund_partial' ? Math.max(1, Math.floor(c.amountMinor * (op.share ?? 0.5))) : undefined;
        if (amountMinor !== undefined) rec.amountMinor = amountMinor;
        const send = () =>
          withTimeout(
            sub.executeUpdate(refundUpdate, {
              args: [{ cycleId: c.cycleId, ...(amountMinor !== undefined ? { amountMinor } : {}), reason: 'chaos' }],
              updateId: op.key!,
            }),
            OP_TIMEOUT_MS,
          );
        const answer = await send();
        await ack();
        rec.answer = {
          ...(answer.paymentId ? { paymentId: answer.paymentId } : {}),
          amountMinor: answer.amountMinor ?? 0,
        };
        if (op.repeatKey) {
          const again: OpRecord = { ...rec, kind: 'repeat_refund', simAt: await simNow() };
          out.push(again);
          try {
            await send();
          } catch (err) {
            again.outcome = 'refused';
            again.detail = messageOf(err);
          }
        }
        break;
      }
      case 'chargeback': {
        const s = await withTimeout(sub.query(subscriptionStateQuery), OP_TIMEOUT_MS);
        const c = paidCycle(s);
        if (!c) {
          rec.outcome = 'skipped';
          rec.detail = 'no paid cycle';
          break;
        }
        rec.cycleId = c.cycleId;
        rec.purchaseId = c.purchaseId!;
        await withTimeout(
          sub.executeUpdate(chargebackUpdate, {
            args: [
              {
                cycleId: c.cycleId,
                reasonId: CHARGEBACK_REASON,
                arn: `arn-${c.cycleId}`.replace(/[^A-Za-z0-9-]/g, '-'),
                date: String(Math.floor(rec.simAt / 1000)),
                reference: `cb-${c.cycleId}`,
              },
            ],
          }),
          OP_TIMEOUT_MS,
        );
        await ack();
        break;
      }
      case 'gateway_refund': {
        const cycleId = cycleOf(op.period ?? 0);
        rec.cycleId = cycleId;
        const purchaseId = await controls().purchaseOf(cycleId, 'success');
        if (!purchaseId) {
          rec.outcome = 'skipped';
          rec.detail = 'no successful charge';
          break;
        }
        rec.purchaseId = purchaseId;
        const refundable = await controls().refundable(purchaseId);
        const amount = Math.max(1, Math.floor(refundable * (op.share ?? 1)));
        const out = refundable > 0 ? await controls().refundAtGateway(purchaseId, amount) : { refused: 'nothing left' };
        if ('refused' in out) {
          rec.outcome = 'refused';
          rec.detail = out.refused;
          break;
        }
        await ack();
        rec.amountMinor = out.amount;
        rec.answer = { paymentId: out.id, amountMinor: out.amount };
        break;
      }
      case 'resolve_pending': {
        const cycleId = cycleOf(op.period ?? 0);
        rec.cycleId = cycleId;
        const purchaseId = await controls().purchaseOf(cycleId, 'pending');
        if (!purchaseId || !(await controls().resolvePending(purchaseId))) {
          rec.outcome = 'skipped';
          rec.detail = 'no manual pending charge';
          break;
        }
        rec.purchaseId = purchaseId;
        await ack();
        break;
      }
      case 'target_down':
      case 'target_up':
        await controls().targetOutage(op.kind === 'target_down');
        await ack();
        break;
    }
  } catch (err) {
    rec.outcome = /no answer within/.test(messageOf(err)) ? 'error' : 'refused';
    rec.detail = messageOf(err);
  }
  return out;
}
