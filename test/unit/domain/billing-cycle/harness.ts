/**
 * The harness of the billing-cycle machine's example tests (one file per module of src/domain/billing-cycle/): a cycle
 * fed one event at a time, each at its own time, keeping every command the machine issued. Times are relative to T0;
 * nothing in the machine reads the calendar.
 */
import {
  decideCycle,
  initialCycleState,
  type CycleCommand,
  type CycleEvent,
  type CycleMachineState,
  type DeclineDetails,
  type PurchaseFacts,
  type SettlementTargetRef,
} from '../../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY, type DunningPolicy } from '../../../../src/domain/dunning';

export const T0 = Date.UTC(2027, 0, 1, 9, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export const TARGETS: SettlementTargetRef[] = [
  { kind: 'activeplatform', accountId: 'acc-1', paymentMethodId: 7 },
  { kind: 'gormic', orderId: 'ord-1' },
];
export const soft: DeclineDetails = { code: 'insufficient_funds', message: 'no funds', declineClass: 'soft' };
export const hard: DeclineDetails = { code: 'expired_card', message: 'expired', declineClass: 'hard' };

export interface CycleOptions {
  token?: string;
  policy?: DunningPolicy;
  settlementTargets?: SettlementTargetRef[];
  /** The rules of histories recorded before the `cycle-money-rules-3` patch. */
  legacyRules?: boolean;
  /** The Purchase rules (`CycleContext.purchaseLife`). */
  purchaseLife?: boolean;
}

export class Cycle {
  state: CycleMachineState;
  now = T0;
  /** Every command, in order. */
  readonly commands: CycleCommand[] = [];
  /** Every decision's commands. */
  readonly log: CycleCommand[][] = [];
  readonly policy: DunningPolicy;

  constructor(private readonly options: CycleOptions = {}) {
    this.policy = options.policy ?? DEFAULT_DUNNING_POLICY;
    this.state = initialCycleState({
      token: options.token ?? 'tok_a',
      amountMinor: 2_500,
      ...(options.settlementTargets ? { settlementTargets: options.settlementTargets } : {}),
    });
  }

  /** Feeds one event at `atHours` after T0 (or now). */
  feed(event: CycleEvent, atHours?: number): CycleCommand[] {
    if (atHours !== undefined) this.now = T0 + atHours * HOUR;
    return this.decide(event);
  }

  /** Feeds one event `ms` after the previous one. */
  feedAfter(event: CycleEvent, ms = 0): CycleCommand[] {
    this.now += ms;
    return this.decide(event);
  }

  /** Moves the clock to `ms` (epoch). */
  at(ms: number): this {
    this.now = ms;
    return this;
  }

  /** Started, Purchase created: the machine asks for the first charge. */
  start(created: PurchaseFacts = purchase('created')): CycleCommand[] {
    this.feed({ type: 'started' });
    return this.feed({ type: 'purchase_created', purchase: created });
  }

  /** Fires the machine's timer (at its wakeAt). */
  timer(): CycleCommand[] {
    if (this.state.wakeAt === undefined) throw new Error('no timer set');
    this.now = Math.max(this.now, this.state.wakeAt);
    return this.feed({ type: 'timer' });
  }

  /** Every time the machine asked for a charge. */
  charges(): CycleCommand[] {
    return this.commands.filter((c) => c.type === 'charge');
  }

  private decide(event: CycleEvent): CycleCommand[] {
    const d = decideCycle(this.state, event, {
      now: this.now,
      policy: this.policy,
      ...(this.options.legacyRules ? { legacyRules: true } : {}),
      ...(this.options.purchaseLife ? { purchaseLife: true } : {}),
    });
    this.state = d.state;
    this.commands.push(...d.commands);
    this.log.push(d.commands);
    return d.commands;
  }
}

/** The facts of Purchase `pur_1` (or `extra.purchaseId`) in `status`, updated at T0. */
export const purchase = (status: string, extra: Partial<PurchaseFacts> = {}): PurchaseFacts => ({
  purchaseId: 'pur_1',
  status,
  updatedOn: Math.floor(T0 / 1000),
  ...extra,
});
export const facts = (purchaseId: string, status: string, extra: Partial<PurchaseFacts> = {}): PurchaseFacts =>
  purchase(status, { purchaseId, ...extra });

export const types = (cmds: CycleCommand[]): string[] => cmds.map((c) => c.type);
export const charges = (cmds: CycleCommand[]) => cmds.filter((c) => c.type === 'charge');
/** The gateway calls among the commands. */
export const gatewayCalls = (cmds: CycleCommand[]) =>
  cmds.filter((c) => ['charge', 'read_purchase', 'cancel_purchase', 'mark_paid', 'create_purchase'].includes(c.type));
/** The calls the workflow runs (gateway and settlement), not its notices. */
export const workflowCalls = (cmds: CycleCommand[]) =>
  cmds.filter((c) => !['notify', 'alert', 'report', 'ack_stop', 'finish'].includes(c.type));
export const settlementWrites = (cmds: CycleCommand[]) => cmds.filter((c) => c.type === 'record_settlement');
export const alerts = (cmds: CycleCommand[], code: string) => cmds.filter((c) => c.type === 'alert' && c.code === code);
export const alertCodes = (cmds: CycleCommand[]) => cmds.flatMap((c) => (c.type === 'alert' ? [c.code] : []));

/** A cycle whose card is hard-declined and whose grace passes without a new card: it ends failed. */
export function failedCycle(): Cycle {
  const c = new Cycle({ settlementTargets: TARGETS });
  c.start();
  c.feed({ type: 'charge_declined', decline: hard });
  c.feed({ type: 'timer' }, DEFAULT_DUNNING_POLICY.hardDeclineGraceHours);
  c.feed({ type: 'purchase_read', purchase: purchase('error', { declineCode: 'expired_card' }) });
  expect(c.state.status).toBe('failed');
  return c;
}

/** A cycle canceled while it waited for its next soft retry: it ends canceled. */
export function canceledCycle(): Cycle {
  const c = new Cycle({ settlementTargets: TARGETS });
  c.start();
  c.feed({ type: 'charge_declined', decline: soft });
  c.feed({ type: 'cancel_requested', reason: 'customer left' }, 2);
  c.feed({ type: 'purchase_canceled', purchase: purchase('cancelled') });
  expect(c.state.status).toBe('canceled');
  return c;
}
