/** The ops CLI's merchant commands against the shared Temporal dev server: exit codes and field-level messages. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { BillingOperator } from '@temporal-billing/client/engine';
import { buildCli } from '../../src/cli';
import { connectToDevServer, uniqueId } from '../support/temporal';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await connectToDevServer();
});

afterAll(async () => {
  await env?.teardown();
});

describe('ops CLI (merchant commands)', () => {
  async function runCli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    let code = 0;
    const program = buildCli({
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      connect: async () => new BillingOperator({ client: env.client }),
      setExitCode: (c) => (code = c),
    });
    await program.parseAsync(args, { from: 'user' });
    return { code, out, err };
  }

  it('exits 2 naming the field for invalid input, 3 for an unknown subscription', async () => {
    const invalid = await runCli(['get', 'bad id']);
    expect(invalid.code).toBe(2);
    expect(invalid.err.join('\n')).toMatch(/subscriptionId: must be 1 to 64 characters/);

    const missing = await runCli(['get', uniqueId('ghost')]);
    expect(missing.code).toBe(3);
    expect(missing.err.join('\n')).toMatch(/not found/);

    const cycles = await runCli(['cycles', uniqueId('ghost')]);
    expect(cycles.code).toBe(3);
  });
});
