/**
 * The ops CLI (`npm run cli -- <command>`): merchant operations through BillingClient, printing JSON (indented; one
 * line with `--json`, errors then also JSON on stderr). Exit codes: see EXIT_CODES_HELP.
 */
import { readFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { qorepayCustomerVerifier } from './api/customer-verifier';
import {
  BILLING_ERROR_OUTCOMES,
  isBillingError,
  type BillingClient,
  type CreateSubscriptionInput,
} from '@temporal-billing/client';
import { BillingOperator } from '@temporal-billing/client/engine';
import { clientConnectionOptions, ConfigError, loadConfig } from './config';
import { QorePayClient } from './integrations/qorepay';
import { rebuildSubscriptionRecords, rebuildToolsFromConfig, type RebuildTools } from './records/rebuild';
import { needsAttention, parseSince, summaryText } from './shared/reconciliation';
import { money } from './shared/ui-text';
import { encryptedDataConverter } from '@temporal-billing/client/payload-codec';

/** Billing errors exit with their code's `exitCode` (BILLING_ERROR_OUTCOMES, the table the API's statuses come from). */
export const EXIT = {
  ok: 0,
  failure: 1,
  invalid: BILLING_ERROR_OUTCOMES.validation_failed.exitCode,
  notFound: BILLING_ERROR_OUTCOMES.not_found.exitCode,
  conflict: BILLING_ERROR_OUTCOMES.conflict.exitCode,
  discrepancies: 5,
} as const;

const EXIT_CODES_HELP = `
Output: JSON on stdout (indented). With --json: one line of JSON per result, and errors as one line
{"error": "<code>", "message": "...", "exitCode": n} on stderr, for scripts.

Exit codes:
  0  done
  1  failure (Temporal or the gateway unavailable, a refused refund or chargeback, anything unexpected)
  2  invalid input (the message names the field), or a bad command line
  3  not found (subscription or cycle)
  4  conflict (exists with different terms, or the request conflicts with the current state)
  5  reconcile: the sweep ran and found discrepancies a person must look at (reported, or a fix that did not take)`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** The operator's client (every merchant's subscriptions, reconciliation). Default: from config. Tests inject one. */
  connect?: () => Promise<BillingOperator>;
  /** Records a failing exit code. Default: process.exitCode. */
  setExitCode?: (code: number) => void;
  /** The books and the gateway for `records rebuild`. Default: rebuildToolsFromConfig(loadConfig()). */
  rebuildTools?: () => Promise<RebuildTools>;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

export function buildCli(io: CliIo = defaultIo): Command {
  const program = new Command('billing')
    .description('Recurring billing engine: operations on subscriptions and billing cycles')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .option('--json', 'machine-readable output: one line of JSON per result, errors as JSON on stderr')
    .addHelpText('after', EXIT_CODES_HELP);
  const json = (): boolean => program.opts<{ json?: boolean }>().json === true;

  /** Runs `fn` with a connected client, prints its result as JSON, maps errors to exit codes. */
  const runOperator =
    <A extends unknown[]>(fn: (operator: BillingOperator, ...args: A) => Promise<unknown>) =>
    async (...args: A): Promise<void> => {
      let operator: BillingOperator | undefined;
      try {
        operator = await (io.connect ?? (() => connectFromConfig(loadConfig())))();
        const result = await fn(operator, ...args);
        io.out(json() ? JSON.stringify(result) : JSON.stringify(result, null, 2));
      } catch (err) {
        const code = reportError(err, json() ? { ...io, err: (m) => io.err(errorJson(err, m)) } : io);
        if (io.setExitCode) io.setExitCode(code);
        else process.exitCode = code;
      } finally {
        await operator?.close();
      }
    };
  const run = <A extends unknown[]>(fn: (billing: BillingClient, ...args: A) => Promise<unknown>) =>
    runOperator((operator: BillingOperator, ...args: A) => fn(operator.billing, ...args));

  program
    .command('create')
    .description('Create a subscription from a JSON file (idempotent by subscriptionId)')
    .argument('<file>', 'JSON file with the subscription (see GET /openapi.json, CreateSubscription)')
    .action(
      run(async (b, file: string) => {
        const input = await readJsonFile(file);
        // Validated by the client like any create (field-level errors name the JSON's fields).
        return b.subscriptions.create(input as CreateSubscriptionInput);
      }),
    );

  program
    .command('get')
    .description('Show a subscription')
    .argument('<subscriptionId>')
    .action(run((b, id: string) => b.subscriptions.get(id)));

  program
    .command('list')
    .description('List subscriptions')
    .option('--status <status>', 'trialing | active | past_due | paused | unpaid | canceled')
    .option('--customer <customerId>', 'only this customer')
    .option('--page-size <n>', 'rows per page')
    .option('--page-token <token>', 'nextPageToken of the previous page')
    .action(
      run((b, opts: { status?: string; customer?: string; pageSize?: string; pageToken?: string }) =>
        b.subscriptions.list({
          ...(opts.status !== undefined ? { status: opts.status as never } : {}),
          ...(opts.customer !== undefined ? { customerId: opts.customer } : {}),
          ...(opts.pageSize !== undefined ? { pageSize: Number(opts.pageSize) } : {}),
          ...(opts.pageToken !== undefined ? { nextPageToken: opts.pageToken } : {}),
        }),
      ),
    );

  program
    .command('cancel')
    .description('Cancel a subscription now, or at the end of the current period')
    .argument('<subscriptionId>')
    .option('--at-period-end', 'cancel when the current period ends')
    .option('--reason <text>')
    .action(
      run((b, id: string, opts: { atPeriodEnd?: boolean; reason?: string }) =>
        b.subscriptions.cancel(id, {
          mode: opts.atPeriodEnd ? 'period_end' : 'now',
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        }),
      ),
    );

  program
    .command('pause')
    .argument('<subscriptionId>')
    .action(run((b, id: string) => b.subscriptions.pause(id)));

  program
    .command('resume')
    .argument('<subscriptionId>')
    .action(run((b, id: string) => b.subscriptions.resume(id)));

  program
    .command('update-payment-method')
    .description('Replace the recurring token')
    .argument('<subscriptionId>')
    .argument('<recurringToken>')
    .action(run((b, id: string, token: string) => b.subscriptions.updatePaymentMethod(id, token)));

  program
    .command('change-plan')
    .description('Change the plan from the next period; the file holds a plan {planId, currency, lineItems}')
    .argument('<subscriptionId>')
    .argument('<file>')
    .action(
      run(async (b, id: string, file: string) => b.subscriptions.changePlan(id, (await readJsonFile(file)) as never)),
    );

  program
    .command('cycles')
    .description('List the billing cycles of a subscription')
    .argument('<subscriptionId>')
    .action(run((b, id: string) => b.cycles.list(id)));

  program
    .command('cycle')
    .description('Show one billing cycle')
    .argument('<cycleId>')
    .action(run((b, id: string) => b.cycles.get(id)));

  program
    .command('mark-paid')
    .description('Record an out-of-band payment for a cycle')
    .argument('<cycleId>')
    .option('--paid-on <unixSeconds>')
    .option('--note <text>')
    .action(
      run((b, id: string, opts: { paidOn?: string; note?: string }) =>
        b.cycles.markPaid(id, {
          ...(opts.paidOn !== undefined ? { paidOn: Number(opts.paidOn) } : {}),
          ...(opts.note !== undefined ? { note: opts.note } : {}),
        }),
      ),
    );

  program
    .command('retry')
    .description('Charge a cycle in retry_scheduled now')
    .argument('<cycleId>')
    .action(run((b, id: string) => b.cycles.retryNow(id)));

  program
    .command('retry-settlement')
    .description('Retry recording a paid cycle in the settlement targets that refused it')
    .argument('<cycleId>')
    .action(run((b, id: string) => b.cycles.retrySettlement(id)));

  program
    .command('refund')
    .description('Refund a paid cycle, fully or partly (never more than is left to refund)')
    .argument('<subscriptionId>')
    .argument('<cycleId>')
    .option('--amount <minorUnits>', 'amount in minor units (default: all that is left)')
    .option('--reason <text>')
    .option('--idempotency-key <key>', 'a repeat with the same key refunds once and prints the first result')
    .action(
      run((b, id: string, cycleId: string, opts: { amount?: string; reason?: string; idempotencyKey?: string }) =>
        b.subscriptions.refund(
          id,
          {
            cycleId,
            ...(opts.amount !== undefined ? { amountMinor: Number(opts.amount) } : {}),
            ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
          },
          opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {},
        ),
      ),
    );

  program
    .command('chargeback')
    .description('Register a chargeback the acquirer reported on a paid cycle')
    .argument('<subscriptionId>')
    .argument('<cycleId>')
    .requiredOption('--reason-id <id>', 'an id from QorePay GET /purchases/chargeback_reasons/')
    .requiredOption('--arn <arn>', 'acquirer reference number')
    .requiredOption('--date <unixSeconds>', 'when the chargeback happened')
    .requiredOption('--reference <text>', "the acquirer's or the merchant's reference")
    .option('--idempotency-key <key>', 'a repeat with the same key registers once and prints the first result')
    .action(
      run(
        (
          b,
          id: string,
          cycleId: string,
          opts: { reasonId: string; arn: string; date: string; reference: string; idempotencyKey?: string },
        ) =>
          b.subscriptions.registerChargeback(
            id,
            { cycleId, reasonId: opts.reasonId, arn: opts.arn, date: opts.date, reference: opts.reference },
            opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {},
          ),
      ),
    );

  program
    .command('reconcile')
    .description(
      'Run a reconciliation sweep now and print its summary (text; one line of JSON with --json): open cycles and ' +
        'those closed since --since are checked against the gateway and the settlement targets; safe fixes are made, ' +
        'the rest reported. Exit 0 when nothing needs a person, 5 when something does',
    )
    .option('--since <when>', 'check closed cycles back to a duration (30m, 48h, 7d) or an ISO date', '48h')
    .action(async (opts: { since: string }) => {
      let operator: BillingOperator | undefined;
      const setExit = (code: number): void => {
        if (io.setExitCode) io.setExitCode(code);
        else process.exitCode = code;
      };
      try {
        const since = parseSince(opts.since, Date.now());
        if (!since.ok) throw new CliInputError(`--since: ${since.message}`);
        operator = await (io.connect ?? (() => connectFromConfig(loadConfig())))();
        const { reconciliationId, summary } = await operator.runReconciliation(since.since);
        io.out(
          json()
            ? JSON.stringify({ reconciliationId, ...summary })
            : `${summaryText(summary, money)}\n\nRun: ${reconciliationId}`,
        );
        if (needsAttention(summary) > 0) setExit(EXIT.discrepancies);
      } catch (err) {
        setExit(reportError(err, json() ? { ...io, err: (m) => io.err(errorJson(err, m)) } : io));
      } finally {
        await operator?.close();
      }
    });

  // Rebuilds one subscription's records from Temporal and the gateway (src/records/rebuild.ts, docs/records.md).
  program
    .command('records')
    .description('The records store (the books)')
    .command('rebuild')
    .description(
      "Rebuild one subscription's records (row, cycles, invoices, payments, credit notes) from Temporal and the gateway",
    )
    .argument('<subscriptionId>')
    .action(
      runOperator(async (operator, id: string) => {
        const tools = await (io.rebuildTools ?? (() => rebuildToolsFromConfig(loadConfig())))();
        try {
          return await rebuildSubscriptionRecords({ ...tools.deps, operator }, id);
        } finally {
          await tools.close();
        }
      }),
    );

  program
    .command('start')
    .description('Run the embedded stack: Temporal dev server with UI, QorePay sandbox, worker, API and demo data')
    .action(async () => {
      const { runEmbeddedStack } = await import('./dev/embedded-stack');
      await runEmbeddedStack(process.env, io.out);
    });

  return program;
}

/** Like the API process: Temporal, plus the QorePay check of a new subscription's qorepayClientId. */
function connectFromConfig(config: ReturnType<typeof loadConfig>): Promise<BillingOperator> {
  const qorepay = new QorePayClient({
    baseUrl: config.QOREPAY_BASE_URL,
    apiKey: config.QOREPAY_API_KEY,
    brandId: config.QOREPAY_BRAND_ID,
    timeoutMs: config.QOREPAY_TIMEOUT_MS,
  });
  // An operator tool: it reaches every merchant's subscriptions.
  return BillingOperator.connect({
    connection: clientConnectionOptions(config),
    namespace: config.temporal.namespace,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    dataConverter: encryptedDataConverter(config.payloadKeys),
    customerVerifier: qorepayCustomerVerifier(qorepay),
    // Changes made with the CLI are recorded in the subscription's and cycle's change trail as key `cli`.
    keyId: 'cli',
  });
}

async function readJsonFile(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliInputError(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

class CliInputError extends Error {}

/** An error as one line of JSON for `--json`: the billing error code when there is one. */
function errorJson(err: unknown, message: string): string {
  const code = isBillingError(err)
    ? err.code
    : err instanceof CliInputError || err instanceof ConfigError
      ? 'invalid_input'
      : 'failure';
  const exitCode = isBillingError(err)
    ? BILLING_ERROR_OUTCOMES[err.code].exitCode
    : code === 'invalid_input'
      ? EXIT.invalid
      : EXIT.failure;
  return JSON.stringify({ error: code, message, exitCode });
}

function reportError(err: unknown, io: CliIo): number {
  if (isBillingError(err)) {
    io.err(err.message);
    return BILLING_ERROR_OUTCOMES[err.code].exitCode;
  }
  if (err instanceof CliInputError) {
    io.err(err.message);
    return EXIT.invalid;
  }
  if (err instanceof ConfigError) {
    io.err(err.message);
    return EXIT.invalid;
  }
  io.err(err instanceof Error ? err.message : String(err));
  return EXIT.failure;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      if (err instanceof CommanderError) {
        process.exitCode = err.exitCode === 0 ? 0 : EXIT.invalid;
        return;
      }
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT.failure;
    });
}
