/**
 * The chaos slice of `npm test`: one fixed fast-mode seed with a few dozen subscriptions (the full run is
 * `npm run chaos`). A violation fails the test and prints the seed, the ids and the event trail.
 */
import { runFastChaos } from './fast';

const SEED = Number(process.env.CHAOS_SLICE_SEED ?? 20261130);

it(`fast mode, seed ${SEED}: no money invariant is violated`, async () => {
  const lines: string[] = [];
  const r = await runFastChaos({
    seed: SEED,
    count: Number(process.env.CHAOS_SLICE_COUNT ?? 16),
    batchSize: 16,
    days: 90,
    runId: `cs${Date.now().toString(36)}`,
    log: (l) => lines.push(l),
  });
  const report = r.violations.map(
    ({ violation: v, trail }) =>
      `VIOLATION ${v.kind} seed=${SEED} subscription=${v.subscriptionId} ids=${v.ids.join(',')}: ${v.detail}\n${trail}`,
  );
  expect(r.cycles).toBeGreaterThan(30);
  expect(report).toEqual([]);
}, 300_000);
