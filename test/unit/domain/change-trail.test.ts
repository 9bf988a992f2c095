/**
 * The change trail (src/domain/change-trail.ts) and how the two machines keep it: each accepted merchant change is
 * recorded with who made it (key id and merchant), the machine's time and the update id; a repeated or refused
 * request is not a second change; the trail stays bounded; and recording never changes what the machine decides.
 */
import { CHANGE_TRAIL_KEPT, recordChange } from '../../../src/domain/change-trail';
import { decideCycle, initialCycleState, type CycleEvent } from '../../../src/domain/billing-cycle';
import { DEFAULT_DUNNING_POLICY } from '../../../src/domain/dunning';
import {
  decideSubscription,
  initialSubscriptionState,
  type SubscriptionEvent,
  type SubscriptionMachineState,
} from '../../../src/domain/subscription';
import { UNATTRIBUTED_KEY_ID, type ChangeActor } from '../../../src/shared/actor';
import { ChangeActorSchema } from '../../../src/shared/actor-schema';

const T0 = Date.UTC(2027, 0, 1, 9, 0);
const MINUTE = 60_000;
const schedule = { intervalUnit: 'month' as const, intervalCount: 1, anchor: '2027-01-01T09:00', timeZone: 'UTC' };
const plan = { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro', priceMinor: 1000, quantity: 1 }] };
const alice: ChangeActor = { keyId: 'key-alice', merchantId: 'm-a' };
const ops: ChangeActor = { keyId: 'ops.1', merchantId: 'default' };

const ctx = (now: number) => ({ subscriptionId: 's1', now, schedule, escalation: 'mark_unpaid' as const });

function feed(state: SubscriptionMachineState, events: SubscriptionEvent[], now = T0) {
  const commands = [];
  for (const e of events) {
    const d = decideSubscription(state, e, ctx(now));
    state = d.state;
    commands.push(...d.commands);
  }
  return { state, commands };
}

const paidReport: SubscriptionEvent = {
  type: 'cycle_reported',
  report: {
    cycleId: 'cycle:s1:0',
    periodIndex: 0,
    status: 'paid',
    final: true,
    purchaseId: 'p1',
    amountMinor: 1000,
    attemptTimes: [T0],
    token: 'tok_a',
    currency: 'EUR',
  },
};

describe('recordChange', () => {
  it('appends one entry with the key id, the merchant, the time and the update id, leaving its input as it was', () => {
    const before = recordChange(undefined, 'create', { actor: alice }, T0);
    const after = recordChange(before, 'refund', { actor: ops, updateId: 'refund:k-1' }, T0 + MINUTE);
    expect(before).toEqual([{ kind: 'create', keyId: 'key-alice', merchantId: 'm-a', at: '2027-01-01T09:00:00.000Z' }]);
    expect(after[1]).toEqual({
      kind: 'refund',
      keyId: 'ops.1',
      merchantId: 'default',
      at: '2027-01-01T09:01:00.000Z',
      updateId: 'refund:k-1',
    });
    expect(before).toHaveLength(1);
  });

  it('records a request that named nobody as unattributed', () => {
    expect(recordChange([], 'pause', {}, T0)[0]).toMatchObject({
      keyId: UNATTRIBUTED_KEY_ID,
      merchantId: UNATTRIBUTED_KEY_ID,
    });
  });

  it(`keeps the last ${CHANGE_TRAIL_KEPT} entries`, () => {
    let trail = recordChange(undefined, 'create', { actor: alice }, T0);
    for (let i = 1; i <= 60; i++) trail = recordChange(trail, 'plan_change', { actor: alice, updateId: `u${i}` }, T0);
    expect(trail).toHaveLength(CHANGE_TRAIL_KEPT);
    expect(trail[0]!.updateId).toBe('u11');
    expect(trail[CHANGE_TRAIL_KEPT - 1]!.updateId).toBe('u60');
  });

  it('actors are checked at the edge: a key id with a space or a slash is refused, naming keyId', () => {
    const bad = ChangeActorSchema.safeParse({ keyId: 'key 1/x', merchantId: 'm' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['keyId']);
    expect(ChangeActorSchema.safeParse(alice).success).toBe(true);
  });
});

describe('the subscription machine keeps the trail', () => {
  const created = () =>
    initialSubscriptionState({ recurringToken: 'tok_a', plan, schedule, now: T0, createdBy: alice });

  it('starts with the create and records each change with who made it, at the machine time', () => {
    const later = T0 + 5 * MINUTE;
    const { state } = feed(
      created(),
      [
        { type: 'started' },
        { type: 'pause_requested', by: { actor: alice, updateId: 'u-pause' } },
        { type: 'resume_requested', by: { actor: ops, updateId: 'u-resume' } },
        { type: 'token_updated', token: 'tok_b', by: { actor: alice } },
        { type: 'plan_changed', plan, by: { actor: alice } },
        { type: 'cancel_requested', mode: 'period_end', by: { actor: alice, updateId: 'u-cancel' } },
      ],
      later,
    );
    expect(state.changes?.map((c) => [c.kind, c.keyId, c.merchantId, c.updateId])).toEqual([
      ['create', 'key-alice', 'm-a', undefined],
      ['pause', 'key-alice', 'm-a', 'u-pause'],
      ['resume', 'ops.1', 'default', 'u-resume'],
      ['payment_method', 'key-alice', 'm-a', undefined],
      ['plan_change', 'key-alice', 'm-a', undefined],
      ['cancel', 'key-alice', 'm-a', 'u-cancel'],
    ]);
    expect(state.changes![1]!.at).toBe(new Date(later).toISOString());
  });

  it('a refund is one change however often its request id comes again; a refused refund is none', () => {
    const refund: SubscriptionEvent = {
      type: 'refund_requested',
      requestId: 'refund:k-1',
      cycleId: 'cycle:s1:0',
      by: { actor: alice, updateId: 'refund:k-1' },
    };
    const { state } = feed(created(), [
      { type: 'started' },
      { type: 'cycle_started', cycleId: 'cycle:s1:0', ok: true },
      paidReport,
      refund,
      refund,
      { ...refund, requestId: 'refund:k-2', cycleId: 'cycle:s1:9' }, // not a paid cycle: refused
    ]);
    expect(state.changes?.filter((c) => c.kind === 'refund')).toEqual([
      expect.objectContaining({ keyId: 'key-alice', updateId: 'refund:k-1' }),
    ]);
  });

  it('recording changes nothing the machine decides, and events that name nobody add nothing', () => {
    const events: SubscriptionEvent[] = [
      { type: 'started' },
      { type: 'pause_requested' },
      { type: 'resume_requested' },
      { type: 'cancel_requested', mode: 'now' },
    ];
    const bare = feed(initialSubscriptionState({ recurringToken: 'tok_a', plan, schedule, now: T0 }), events);
    const attributed = feed(
      created(),
      events.map((e) => (e.type === 'started' ? e : { ...e, by: { actor: alice } })),
    );
    expect(attributed.commands).toEqual(bare.commands);
    const { changes, ...rest } = attributed.state;
    expect(rest).toEqual(bare.state);
    expect(changes).toHaveLength(4);
    expect(bare.state.changes).toBeUndefined();
  });
});

describe('the cycle machine keeps the trail', () => {
  it('records mark paid, retry now and retry settlement with who asked; commands are the same as without', () => {
    const run = (withActor: boolean) => {
      let s = initialCycleState({ token: 'tok_a', amountMinor: 4_990 });
      const by = withActor ? { by: { actor: ops, updateId: 'u-1' } } : {};
      const events: CycleEvent[] = [
        { type: 'started' },
        { type: 'purchase_created', purchase: { purchaseId: 'pur_1', status: 'created', updatedOn: 1 } },
        {
          type: 'charge_declined',
          decline: { code: 'insufficient_funds', message: 'Insufficient funds', declineClass: 'soft' },
        },
        { type: 'retry_now_requested', ...by },
        { type: 'mark_paid_requested', requestId: 'mp-1', note: 'paid by bank transfer', ...by },
        { type: 'settlement_retry_requested', ...by },
      ];
      const commands = [];
      for (const e of events) {
        const d = decideCycle(s, e, { now: T0, policy: DEFAULT_DUNNING_POLICY });
        s = d.state;
        commands.push(...d.commands);
      }
      return { s, commands };
    };
    const attributed = run(true);
    const bare = run(false);
    expect(attributed.commands).toEqual(bare.commands);
    expect(attributed.s.changes?.map((c) => [c.kind, c.keyId, c.merchantId, c.updateId])).toEqual([
      ['retry_now', 'ops.1', 'default', 'u-1'],
      ['mark_paid', 'ops.1', 'default', 'u-1'],
      ['retry_settlement', 'ops.1', 'default', 'u-1'],
    ]);
    expect(bare.s.changes).toBeUndefined();
  });
});
