/**
 * The merchant library as a merchant backend gets it: `npm pack` of packages/client, then a scratch TypeScript project
 * outside the repository installs the tarball (measured: packages and MB it adds), type-checks a create call through
 * the package's `exports` map (and a wrong call must fail to type-check), and runs create + get, connected with
 * `connectToDevStack` as the README shows, against the test Temporal server with a real billing worker.
 * The script also reports which heavy modules it loaded: none of the worker's or the API's.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { connectToDevServer, uniqueId } from '../support/temporal';
import { startApiStack, type ApiStack } from '../support/api-stack';

const execFileAsync = promisify(execFile);
const repo = resolve(__dirname, '..', '..');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
let scratch: string;
let env: TestWorkflowEnvironment;
let stack: ApiStack;

/** Every package npm installed (its own record of the tree), by name. */
function installedPackages(nodeModules: string): string[] {
  const lock = JSON.parse(readFileSync(join(nodeModules, '.package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>;
  };
  return Object.keys(lock.packages).map((path) =>
    path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length),
  );
}

/** The bytes of every file under a directory (apparent size, as `du --apparent-size` counts). */
function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += directoryBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'merchant-backend-'));
  env = await connectToDevServer();
  stack = await startApiStack(env, {
    taskQueue: uniqueId('pkg-tq'),
    sandboxKey: 'sandbox-key-package-test',
    webhookRetryDelaysMs: [0],
    pendingResolveDelayMs: 100,
  });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it('installs from npm pack, type-checks a create call, and creates and reads a subscription', async () => {
  run('npm', ['pack', '--silent', '--pack-destination', scratch], join(repo, 'packages', 'client'));
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({
      name: 'merchant-backend',
      private: true,
      dependencies: { '@temporal-billing/client': `file:./${tarball}` },
    }),
  );
  // From the npm cache when it holds the packages (the repository's `npm ci` put every tarball there).
  run(
    'npm',
    ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    scratch,
  );
  const installed = installedPackages(join(scratch, 'node_modules'));
  const megabytes = directoryBytes(join(scratch, 'node_modules')) / 1e6;
  console.log(`the tarball added ${installed.length} packages, ${megabytes.toFixed(1)} MB`);
  // None of the engine's: no worker (native bridge), no HTTP server, no logger, no gateway client, no tsx.
  expect(
    installed.filter((name) =>
      /^(@temporalio\/(worker|core-bridge|activity|workflow|testing)|fastify|@fastify\/.*|pino|axios|tsx|esbuild|@swc\/.*)$/.test(
        name,
      ),
    ),
  ).toEqual([]);
  expect(megabytes).toBeLessThanOrEqual(40);
  // @temporalio/client 1.24.0 alone brings 43 packages (grpc-js with its proto-loader and yargs); zod and this
  // package make 45. The goal of 40 is below that floor; this bound fails on any dependency added.
  expect(installed.length).toBeLessThanOrEqual(45);
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        skipLibCheck: true,
        types: [],
        outDir: 'dist',
      },
      files: ['main.ts'],
    }),
  );
  const subscriptionId = uniqueId('pkg');
  writeFileSync(
    join(scratch, 'main.ts'),
    `import { connectToDevStack, isBillingError, type CreateSubscriptionInput } from '@temporal-billing/client';
declare const process: { env: Record<string, string | undefined>; stdout: { write(s: string): void } };
declare const require: { cache: Record<string, unknown> };
const body: CreateSubscriptionInput = {
  subscriptionId: ${JSON.stringify(subscriptionId)},
  customerId: 'c_pkg',
  customerEmail: 'pkg@example.com',
  recurringToken: 'tok_success_pkg_0001',
  plan: { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro', priceMinor: 1999, quantity: 1 }] },
  schedule: { intervalUnit: 'month', intervalCount: 1, anchor: '2030-01-31T09:00', timeZone: 'Europe/Oslo' },
};
async function main(): Promise<void> {
  // The README's one line (the npm start stack's address is the default; this test's server is elsewhere).
  const billing = await connectToDevStack({ address: process.env.TEMPORAL_ADDRESS!, taskQueue: process.env.TASK_QUEUE! });
  try {
    const created = await billing.createSubscription(body);
    const state = await billing.getSubscription(body.subscriptionId);
    const heavy = Object.keys(require.cache).filter((p) =>
      /node_modules[\\\\/](@temporalio[\\\\/](worker|activity|core-bridge)|fastify|pino|axios|@swc)[\\\\/]/.test(p),
    );
    process.stdout.write(JSON.stringify({ created: created.created, status: state.status, paymentMethod: state.paymentMethod, heavy }));
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const error = isBillingError(err) ? err.code + ': ' + err.message : String(err);
    process.stdout.write(JSON.stringify({ error: cause === undefined ? error : error + ' (cause: ' + String(cause) + ')' }));
  } finally {
    await billing.close();
  }
}
void main();
`,
  );
  run(process.execPath, [tsc, '-p', '.'], scratch);

  // A create without a plan must not type-check: the check above can fail.
  writeFileSync(
    join(scratch, 'wrong.ts'),
    `import { BillingClient } from '@temporal-billing/client';
export const f = (b: BillingClient) => b.createSubscription({ subscriptionId: 's', customerId: 'c', recurringToken: 't' });
`,
  );
  writeFileSync(
    join(scratch, 'tsconfig.wrong.json'),
    JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true }, files: ['wrong.ts'] }),
  );
  let wrongOutput = '';
  try {
    run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], scratch);
  } catch (err) {
    wrongOutput = String((err as { stdout?: string }).stdout);
  }
  console.log(`tsc on a create without a plan printed: ${wrongOutput.trim()}`);
  expect(wrongOutput).toMatch(/wrong\.ts.*error TS\d+/);

  // Asynchronously: the billing worker runs in this process, and a blocked event loop would leave the new
  // subscription's first workflow task to time out (the query then answers "Workflow Task in failed state").
  const { stdout: out } = await execFileAsync(process.execPath, [join(scratch, 'dist', 'main.js')], {
    cwd: scratch,
    encoding: 'utf8',
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TASK_QUEUE: stack.taskQueue,
    },
    timeout: 60_000,
  });
  console.log(`scratch project printed: ${out}`);
  expect(JSON.parse(out)).toEqual({ created: true, status: 'active', paymentMethod: '…0001', heavy: [] });

  // The README's library example, as written (an ES module: it awaits at the top level). Only what points it at this
  // test's server instead of the npm start stack's 127.0.0.1:7233 is replaced, and its subscription id made unique.
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const example = /```ts\n(import \{ connectToDevStack \}[\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toContain('await connectToDevStack();');
  expect(example).toContain("'sub_43'");
  const readmeId = uniqueId('readme');
  writeFileSync(
    join(scratch, 'readme.mts'),
    'declare const process: { env: Record<string, string | undefined> };\n' +
      'declare const console: { log(...args: unknown[]): void };\n' +
      example!
        .replace(
          'await connectToDevStack();',
          'await connectToDevStack({ address: process.env.TEMPORAL_ADDRESS!, taskQueue: process.env.TASK_QUEUE! });',
        )
        .replaceAll('sub_43', readmeId),
  );
  writeFileSync(
    join(scratch, 'tsconfig.readme.json'),
    JSON.stringify({ extends: './tsconfig.json', files: ['readme.mts'] }),
  );
  run(process.execPath, [tsc, '-p', 'tsconfig.readme.json'], scratch);
  const { stdout: printed } = await execFileAsync(process.execPath, [join(scratch, 'dist', 'readme.mjs')], {
    cwd: scratch,
    encoding: 'utf8',
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: stack.taskQueue },
    timeout: 60_000,
  });
  console.log(`the README's example printed: ${printed.trim()}`);
  expect(printed.trim()).toMatch(/^true active \d{4}-\d{2}-\d{2}T/);
}, 300_000); // npm pack and install, three tsc runs and two programs: minutes on a loaded machine
