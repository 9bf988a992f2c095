/**
 * `npm run test:cluster`: the engine on the production shape, on this machine, under failure.
 *
 * PostgreSQL 15 (Debian's binaries, a throw-away cluster in a temp directory, run as an unprivileged user), the
 * Temporal server built from go.temporal.io/server at the compose image's version (tools/build-temporal-server.mjs)
 * with 4 history shards and the schema applied by its SQL tool, the project's search attributes, two worker
 * processes and two API processes, and the QorePay sandbox. A few hundred subscriptions are created through the APIs
 * and bill their first period; meanwhile one worker is SIGKILLed while a charge of its own is at the gateway (then
 * restarted, as a supervisor would), and the Temporal server process is killed and restarted once.
 *
 * Checked from the sandbox's ledger and the merchant API: at most one successful charge per period, every cycle in a
 * terminal status, every acknowledged subscription still there. Bounded in time; every process is stopped at the end,
 * whatever happened. The figures are printed last. Knobs: CLUSTER_SUBSCRIPTIONS (default 300), PG_BIN_DIR.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import axios, { type AxiosInstance } from 'axios';
import pgClient from 'pg';
import { registerSearchAttributes, isPortOpen } from '../../src/dev/dev-server';
import { startQorePaySandbox } from '../../src/sandbox/qorepay';
import { TERMINAL_CYCLE_STATUSES } from '../../src/shared/billing-cycle';
import { freePort, ProcessGroup, sleep, startGatewayProxy, tail, until, type Proc } from '../support/processes';

const ROOT = join(__dirname, '..', '..');
const SUBSCRIPTIONS = Number(process.env.CLUSTER_SUBSCRIPTIONS ?? 300);
const PG_BIN = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
/** Every wait has its own bound (setup steps 60-120 s each, billing this long): the whole run cannot hang. */
const BILLING_DEADLINE_MS = 480_000;
const API_KEY = 'cluster-api-key-0123456789';
const SANDBOX_KEY = 'cluster-sandbox-key';
const PAYLOAD_KEYS = `cluster:${randomBytes(32).toString('base64')}`;

const t0 = Date.now();
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const say = (line: string): void => console.log(`[cluster ${secs(Date.now() - t0).padStart(7)}] ${line}`);

/** A free port below 32768: Temporal stores membership ports as a SQL smallint. */
async function freeServerPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const s = createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => s.close(() => r()));
      return port;
    }
  }
}

// ------------------------------------------------------------------------------------------------ PostgreSQL

let workDir = '';
let group: ProcessGroup | undefined;

function pgCommand(bin: string, args: string[]): [string, string[]] {
  const path = join(PG_BIN, bin);
  return userInfo().uid === 0 ? ['runuser', ['-u', 'nobody', '--', path, ...args]] : [path, args];
}

function pgRun(bin: string, args: string[]): void {
  const [cmd, argv] = pgCommand(bin, args);
  const r = spawnSync(cmd, argv, { cwd: workDir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr || r.stdout}`);
}

interface Postgres {
  port: number;
  password: string;
  stop(): void;
}

function startPostgres(port: number): Postgres {
  if (!existsSync(join(PG_BIN, 'initdb'))) {
    throw new Error(
      `PostgreSQL binaries not found in ${PG_BIN} (Debian: apt-get install postgresql-15; or set PG_BIN_DIR)`,
    );
  }
  const dataDir = join(workDir, 'pgdata');
  const pwFile = join(workDir, 'pgpass');
  const password = randomBytes(12).toString('hex');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (userInfo().uid === 0) {
    const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
    const uid = Number(nobody.stdout.trim());
    if (!Number.isInteger(uid)) throw new Error('running as root and there is no user "nobody" to run PostgreSQL');
    chownSync(workDir, uid, uid);
    chownSync(pwFile, uid, uid);
  }
  pgRun('initdb', [
    '-D',
    dataDir,
    '-U',
    'temporal',
    '--pwfile',
    pwFile,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--no-instructions',
  ]);
  pgRun('pg_ctl', [
    '-D',
    dataDir,
    '-l',
    join(workDir, 'postgres.log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port} -k ${workDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    'start',
  ]);
  return {
    port,
    password,
    stop: () => {
      try {
        pgRun('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already down
      }
    },
  };
}

// ------------------------------------------------------------------------------------------------ Temporal server

interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

function serverConfigYaml(pg: Postgres, p: ServerPorts, dynamicConfig: string): string {
  const store = (db: string, conns: number): string => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "127.0.0.1:${pg.port}"
        connectProtocol: tcp
        user: temporal
        password: "${pg.password}"
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const svc = (grpc: number, membership: number, http?: number): string => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:${store('temporal', 20)}
    visibility:${store('temporal_visibility', 10)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:
  frontend:${svc(p.frontend, p.frontendMembership, p.frontendHttp)}
  history:${svc(p.history, p.historyMembership)}
  matching:${svc(p.matching, p.matchingMembership)}
  worker:${svc(p.worker, p.workerMembership)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${p.frontend}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "${dynamicConfig}"
  pollInterval: 10s
`;
}

function buildServer(): { dir: string; version: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'build-temporal-server.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('building the Temporal server failed');
  const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const version = /image:\s*temporalio\/server:(\d+\.\d+\.\d+)/.exec(compose)?.[1];
  if (!version) throw new Error('no temporalio/server image in docker-compose.yml');
  return { dir: join(ROOT, '.tools', `temporal-server-${version}`), version };
}

function setupSchema(serverDir: string, pg: Postgres): void {
  const tool = join(serverDir, 'temporal-sql-tool');
  const base = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pg.port), '-u', 'temporal'];
  const env = { ...process.env, SQL_PASSWORD: pg.password };
  const run = (args: string[]): void => {
    const r = spawnSync(tool, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`temporal-sql-tool ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  };
  for (const [db, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    run([...base, '--db', db, 'create-database']);
    run([...base, '--db', db, 'setup-schema', '-v', '0.0']);
    run([...base, '--db', db, 'update-schema', '-d', join(serverDir, 'schema', 'postgresql', 'v12', dir, 'versioned')]);
  }
}

// ------------------------------------------------------------------------------------------------ the run

interface Figures {
  serverVersion: string;
  subscriptions: number;
  acknowledged: number;
  createRetries: number;
  workerKills: number;
  chargesInFlightAtKill: number;
  killedChargesSettled: number;
  serverRestarts: number;
  serverDownMs: number;
  workerExitsUnplanned: number;
  cycles: number;
  terminal: number;
  byStatus: Record<string, number>;
  ledgerSuccesses: number;
  doubleCharges: number;
  subscriptionsLost: number;
  /** This run's subscriptions in GET /v1/subscriptions (from the records store), against those acknowledged. */
  listed: number;
  /** Paid first periods, and those without exactly one paid invoice in GET /v1/invoices. */
  paidCycles: number;
  paidInvoiceMismatches: number;
  setupMs: number;
  billingMs: number;
}

async function main(): Promise<Figures> {
  workDir = mkdtempSync(join(tmpdir(), 'billing-cluster-'));
  const procs = new ProcessGroup(workDir);
  group = procs;
  const startProcess = procs.start.bind(procs);
  const stopProcess = procs.stop.bind(procs);
  const stops: (() => Promise<void> | void)[] = [];
  const f: Figures = {
    serverVersion: '',
    subscriptions: SUBSCRIPTIONS,
    acknowledged: 0,
    createRetries: 0,
    workerKills: 0,
    chargesInFlightAtKill: 0,
    killedChargesSettled: 0,
    serverRestarts: 0,
    serverDownMs: 0,
    workerExitsUnplanned: 0,
    cycles: 0,
    terminal: 0,
    byStatus: {},
    ledgerSuccesses: 0,
    doubleCharges: 0,
    subscriptionsLost: 0,
    listed: 0,
    paidCycles: 0,
    paidInvoiceMismatches: 0,
    setupMs: 0,
    billingMs: 0,
  };
  let finished = false;
  try {
    // ---- Temporal server binaries (built once per version, cached in .tools/)
    const server = buildServer();
    f.serverVersion = server.version;
    const setupStart = Date.now();

    // ---- PostgreSQL
    const pg = startPostgres(await freePort());
    stops.push(() => pg.stop());
    say(
      `PostgreSQL 15 on 127.0.0.1:${pg.port} (data in ${workDir}, run as ${userInfo().uid === 0 ? 'nobody' : userInfo().username})`,
    );
    setupSchema(server.dir, pg);
    say('schema applied with temporal-sql-tool (temporal, temporal_visibility)');
    // The engine's books on the same PostgreSQL: a database and a user of their own, no superuser (as in compose).
    const booksPassword = randomBytes(12).toString('hex');
    const admin = new pgClient.Client({
      host: '127.0.0.1',
      port: pg.port,
      user: 'temporal',
      password: pg.password,
      database: 'postgres',
    });
    await admin.connect();
    await admin.query(`CREATE ROLE billing LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${booksPassword}'`);
    await admin.query('CREATE DATABASE billing OWNER billing');
    await admin.end();
    const DATABASE_URL = `postgres://billing:${booksPassword}@127.0.0.1:${pg.port}/billing`;
    say('records store: database billing, user billing (no superuser)');

    // ---- Temporal server
    const ports: ServerPorts = {
      frontend: await freeServerPort(),
      frontendHttp: await freeServerPort(),
      frontendMembership: await freeServerPort(),
      history: await freeServerPort(),
      historyMembership: await freeServerPort(),
      matching: await freeServerPort(),
      matchingMembership: await freeServerPort(),
      worker: await freeServerPort(),
      workerMembership: await freeServerPort(),
    };
    const dynamicConfig = join(workDir, 'dynamicconfig.yaml');
    writeFileSync(
      dynamicConfig,
      [
        'system.forceSearchAttributesCacheRefreshOnRead:',
        '  - value: true',
        'frontend.enableUpdateWorkflowExecution:',
        '  - value: true',
        'frontend.enableUpdateWorkflowExecutionAsyncAccepted:',
        '  - value: true',
        '',
      ].join('\n'),
    );
    const configFile = join(workDir, 'temporal.yaml');
    writeFileSync(configFile, serverConfigYaml(pg, ports, dynamicConfig));
    const address = `127.0.0.1:${ports.frontend}`;
    let serverProc: Proc | undefined;
    const startServer = async (): Promise<void> => {
      serverProc = startProcess(
        'temporal-server',
        join(server.dir, 'temporal-server'),
        ['--config-file', configFile, '--allow-no-auth', 'start'],
        { ...process.env },
      );
      const p = serverProc;
      await until('the Temporal frontend port', 90_000, async () => {
        if (p.child.exitCode !== null) throw new Error(`temporal-server exited:\n${tail(p.logFile)}`);
        return isPortOpen('127.0.0.1', ports.frontend);
      });
    };
    stops.push(async () => {
      if (serverProc) await stopProcess(serverProc);
    });
    await startServer();
    const connection = await until('a Temporal connection', 60_000, () => {
      if (serverProc?.child.exitCode !== null) throw new Error(`temporal-server exited:\n${tail(serverProc!.logFile)}`);
      return Connection.connect({ address, connectTimeout: '5s' });
    });
    stops.push(() => connection.close());
    await until('namespace default', 60_000, async () => {
      try {
        await connection.workflowService.registerNamespace({
          namespace: 'default',
          workflowExecutionRetentionPeriod: msToTs('1 day'),
        });
      } catch (err) {
        if (!/already/i.test(err instanceof Error ? err.message : String(err))) throw err;
      }
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      return true;
    });
    await until('search attributes', 60_000, async () => {
      await registerSearchAttributes(connection, 'default');
      const sa = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      return 'BillingStatus' in (sa.customAttributes ?? {});
    });
    say(`Temporal server v${server.version} on ${address}: 4 history shards, namespace default, search attributes`);

    // ---- the QorePay sandbox (in this process: its ledger is what we check)
    const sandbox = await startQorePaySandbox({
      apiKey: SANDBOX_KEY,
      pendingResolveDelayMs: 1000,
      slowResponseMs: 3000,
      webhookRetryDelaysMs: [0, 500, 2000, 5000, 10_000, 20_000],
    });
    stops.push(() => sandbox.close());
    // One pass-through proxy per worker: the test sees when *that* worker has a charge at the gateway (and kills it then).
    const proxies = [await startGatewayProxy(sandbox.origin), await startGatewayProxy(sandbox.origin)];
    for (const p of proxies) stops.push(() => p.close());

    const engineEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // Not `production`: it refuses the sandbox gateways (and minute schedules) these processes run against.
      NODE_ENV: 'test',
      DATABASE_URL,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: 'default',
      QOREPAY_BASE_URL: sandbox.baseUrl,
      QOREPAY_API_KEY: SANDBOX_KEY,
      QOREPAY_TIMEOUT_MS: '10000',
      PAYLOAD_KEYS,
      LOG_LEVEL: 'warn',
      ...extra,
    });
    const tsx = ['--require', 'tsx/cjs'];

    // ---- two workers (each behind its own gateway proxy) and two APIs
    const workerHealth = [await freePort(), await freePort()];
    const workers: (Proc | undefined)[] = [undefined, undefined];
    const plannedStop = new Set<Proc>();
    const startWorker = async (i: number): Promise<void> => {
      const w = startProcess(
        `worker-${i + 1}`,
        process.execPath,
        [...tsx, join(ROOT, 'src', 'worker.ts')],
        engineEnv({ QOREPAY_BASE_URL: proxies[i]!.url, HEALTH_PORT: String(workerHealth[i]) }),
      );
      workers[i] = w;
      void w.exited.then(() => {
        if (!plannedStop.has(w) && !finished) {
          f.workerExitsUnplanned++;
          say(`worker-${i + 1} exited on its own; restarting it (a supervisor's restart policy)`);
          void startWorker(i);
        }
      });
      await until(`worker-${i + 1} ready`, 120_000, async () => {
        if (w.child.exitCode !== null) throw new Error(`worker-${i + 1} exited:\n${tail(w.logFile)}`);
        const r = await axios.get(`http://127.0.0.1:${workerHealth[i]}/readyz`, { validateStatus: () => true });
        return r.status === 200;
      });
    };
    stops.push(async () => {
      for (const w of workers) if (w) plannedStop.add(w);
      await Promise.all(workers.map((w) => (w ? stopProcess(w) : Promise.resolve())));
    });

    const apiPorts = [await freePort(), await freePort()];
    const apis: Proc[] = [];
    for (const [i, port] of apiPorts.entries()) {
      apis.push(
        startProcess(
          `api-${i + 1}`,
          process.execPath,
          [...tsx, join(ROOT, 'src', 'api-process.ts')],
          engineEnv({ API_PORT: String(port), API_KEYS: API_KEY, API_RATE_LIMIT_PER_MINUTE: '0' }),
        ),
      );
      sandbox.addWebhookUrl(`http://127.0.0.1:${port}/webhooks/qorepay`);
    }
    stops.push(async () => void (await Promise.all(apis.map((a) => stopProcess(a)))));
    await Promise.all([startWorker(0), startWorker(1)]);
    const http: AxiosInstance[] = apiPorts.map((port) =>
      axios.create({
        baseURL: `http://127.0.0.1:${port}`,
        validateStatus: () => true,
        timeout: 30_000,
        headers: { authorization: `Bearer ${API_KEY}` },
      }),
    );
    for (const [i, h] of http.entries()) {
      await until(`api-${i + 1} ready`, 120_000, async () => {
        if (apis[i]!.child.exitCode !== null) throw new Error(`api-${i + 1} exited:\n${tail(apis[i]!.logFile)}`);
        return (await h.get('/readyz')).status === 200;
      });
    }
    f.setupMs = Date.now() - setupStart;
    say(`2 workers and 2 APIs ready (setup ${secs(f.setupMs)})`);

    // ---- load: subscriptions through both APIs; chaos on the way
    const billingStart = Date.now();
    const anchor = new Date().toISOString().slice(0, 16);
    const run = randomBytes(3).toString('hex');
    const ids = Array.from({ length: SUBSCRIPTIONS }, (_, i) => `cl-${run}-${i}`);
    const tokenFor = (i: number): string => {
      const kind = [
        'success',
        'success',
        'success',
        'success',
        'success',
        'slow',
        'slow',
        'pending_paid',
        '500x2',
        '429',
      ];
      return `tok_${kind[i % kind.length]}_${run}${i}`;
    };
    const acknowledged = new Set<string>();
    const createOne = async (i: number): Promise<void> => {
      const id = ids[i]!;
      const body = {
        subscriptionId: id,
        customerId: `cust-${i % 50}`,
        customerEmail: `${id}@customer.example`,
        recurringToken: tokenFor(i),
        plan: {
          planId: 'pro',
          currency: 'NGN',
          lineItems: [{ name: 'Pro plan', priceMinor: 500_000 + i, quantity: 1 }],
        },
        schedule: { intervalUnit: 'month', intervalCount: 1, anchor, timeZone: 'UTC' },
      };
      const deadline = Date.now() + 120_000;
      for (let attempt = 0; ; attempt++) {
        const h = http[(i + attempt) % http.length]!;
        try {
          const r = await h.post('/v1/subscriptions', body);
          if (r.status === 201 || r.status === 200) {
            acknowledged.add(id);
            return;
          }
          if (r.status !== 503 && r.status < 500)
            throw new Error(`create ${id}: HTTP ${r.status} ${JSON.stringify(r.data)}`);
        } catch (err) {
          if (err instanceof Error && err.message.startsWith('create ')) throw err;
        }
        f.createRetries++;
        if (Date.now() > deadline) throw new Error(`create ${id}: no answer for 120 s`);
        await sleep(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)));
      }
    };

    let next = 0;
    const creators = Array.from({ length: 10 }, async () => {
      while (next < SUBSCRIPTIONS) {
        const i = next++;
        await createOne(i);
        await sleep(20);
      }
    });
    const creating = Promise.all(creators);

    // Chaos 1: SIGKILL worker-1 while a charge of its own is at the gateway, then start a new worker-1.
    await until(
      'a quarter of the subscriptions created',
      BILLING_DEADLINE_MS,
      async () => acknowledged.size >= SUBSCRIPTIONS / 4,
    );
    await until('worker-1 to have a charge at the gateway', 120_000, async () => proxies[0]!.chargesInFlight > 0);
    f.chargesInFlightAtKill = proxies[0]!.chargesInFlight;
    const killedCharges = [...proxies[0]!.purchasesInFlight];
    const victim = workers[0]!;
    plannedStop.add(victim);
    victim.child.kill('SIGKILL');
    await victim.exited;
    f.workerKills++;
    say(`SIGKILLed worker-1 with ${f.chargesInFlightAtKill} charge(s) of its own at the gateway`);
    await sleep(1000);
    await startWorker(0);
    say('a new worker-1 is polling');

    // Chaos 2: kill the Temporal server process and start it again, while subscriptions are still being created.
    await until(
      'half of the subscriptions created',
      BILLING_DEADLINE_MS,
      async () => acknowledged.size >= SUBSCRIPTIONS / 2,
    );
    const down = Date.now();
    plannedStop.add(serverProc!);
    serverProc!.child.kill('SIGKILL');
    await serverProc!.exited;
    say('SIGKILLed the Temporal server; starting it again');
    await sleep(2000);
    await startServer();
    await until('Temporal to answer again', 120_000, async () => {
      await connection.withDeadline(Date.now() + 3000, () => connection.workflowService.getSystemInfo({}));
      return true;
    });
    f.serverDownMs = Date.now() - down;
    f.serverRestarts++;
    say(`Temporal server back after ${secs(f.serverDownMs)}`);

    await creating;
    f.acknowledged = acknowledged.size;
    say(`${acknowledged.size} subscriptions created (${f.createRetries} create retries after 503s or lost answers)`);

    // ---- wait until every period has a terminal cycle (from the merchant API) and the gateway agrees
    const terminal = new Set<string>(TERMINAL_CYCLE_STATUSES);
    const status = new Map<string, string>();
    await until('every cycle terminal', BILLING_DEADLINE_MS - (Date.now() - billingStart), async () => {
      const pending = ids.filter((id) => !terminal.has(status.get(id) ?? ''));
      for (const [n, id] of pending.entries()) {
        const r = await http[n % 2]!.get<{ cycles?: { cycleId: string; status: string }[] }>(
          `/v1/subscriptions/${id}/cycles`,
        );
        const first = r.status === 200 ? r.data.cycles?.find((c) => c.cycleId.endsWith(':0')) : undefined;
        if (first) status.set(id, first.status);
      }
      const done = ids.filter((id) => terminal.has(status.get(id) ?? '')).length;
      say(`${done}/${ids.length} first periods terminal`);
      return done === ids.length;
    });
    f.billingMs = Date.now() - billingStart;

    // ---- the checks, from the ledger and the API
    f.cycles = status.size;
    f.terminal = [...status.values()].filter((s) => terminal.has(s)).length;
    for (const s of status.values()) f.byStatus[s] = (f.byStatus[s] ?? 0) + 1;
    const successes = new Map<string, number>();
    for (const e of sandbox.ledger()) {
      if (e.outcome === 'success' && e.reference) successes.set(e.reference, (successes.get(e.reference) ?? 0) + 1);
    }
    f.ledgerSuccesses = [...successes.values()].reduce((a, b) => a + b, 0);
    f.doubleCharges = [...successes.values()].filter((n) => n > 1).length;
    for (const id of ids) {
      const r = await http[0]!.get(`/v1/subscriptions/${id}`);
      if (r.status !== 200) f.subscriptionsLost++;
    }
    // The charges that were at the gateway when their worker died: each paid exactly once, its cycle paid.
    for (const purchaseId of killedCharges) {
      const entries = sandbox.ledger().filter((e) => e.purchaseId === purchaseId && e.outcome === 'success');
      const cycle = entries[0]?.reference ?? '';
      const id = cycle.split(':')[1] ?? '';
      if (entries.length !== 1 || status.get(id) !== 'paid') {
        throw new Error(
          `the charge killed mid-flight (${purchaseId}): ${entries.length} successes, cycle ${status.get(id)}`,
        );
      }
      f.killedChargesSettled++;
    }
    const paidWithoutLedger = ids.filter((id) => status.get(id) === 'paid' && !successes.has(`cycle:${id}:0`));
    if (paidWithoutLedger.length) throw new Error(`paid cycles without a ledger success: ${paidWithoutLedger.length}`);
    // ---- the lists come from the records store: every acknowledged subscription listed, every paid cycle one paid invoice
    const listedIds = new Set<string>();
    await pages(http[1]!, '/v1/subscriptions', {}, 'subscriptions', (row) => {
      const id = String(row.subscriptionId);
      if (id.startsWith(`cl-${run}-`)) listedIds.add(id);
    });
    f.listed = listedIds.size;
    const notListed = [...acknowledged].filter((id) => !listedIds.has(id));
    if (notListed.length) say(`acknowledged but not listed: ${notListed.slice(0, 5).join(', ')}`);
    const paidInvoices = new Map<string, number>();
    await pages(http[0]!, '/v1/invoices', { status: 'paid' }, 'invoices', (row) => {
      const cycle = String(row.cycleId);
      paidInvoices.set(cycle, (paidInvoices.get(cycle) ?? 0) + 1);
    });
    const paidIds = ids.filter((id) => status.get(id) === 'paid' || status.get(id) === 'marked_paid');
    f.paidCycles = paidIds.length;
    f.paidInvoiceMismatches = paidIds.filter((id) => paidInvoices.get(`cycle:${id}:0`) !== 1).length;
    say(
      `lists from the records: ${f.listed} of ${acknowledged.size} listed; paid cycles without exactly one paid invoice: ${f.paidInvoiceMismatches} of ${f.paidCycles}`,
    );
    finished = true;
    return f;
  } catch (err) {
    finished = true;
    // Every process's log survives the temp directory, for a look after a failed CI run.
    const keep = join(ROOT, '.data', 'cluster-logs');
    rmSync(keep, { recursive: true, force: true });
    mkdirSync(keep, { recursive: true });
    for (const file of readdirSync(workDir).filter((n) => n.endsWith('.log'))) {
      cpSync(join(workDir, file), join(keep, file));
      console.error(`---- last lines of ${file} (all of it in .data/cluster-logs/) ----\n${tail(join(workDir, file))}`);
    }
    throw err;
  } finally {
    finished = true;
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        console.error(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    procs.killAll();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Every row of a keyset-paginated list of the API (pages of 200, following `nextCursor`). */
async function pages(
  http: AxiosInstance,
  url: string,
  params: Record<string, string | undefined>,
  key: string,
  each: (row: Record<string, unknown>) => void,
): Promise<void> {
  let cursor: string | undefined;
  for (let n = 0; n < 10_000; n++) {
    const r = await http.get<Record<string, unknown>>(url, { params: { ...params, limit: 200, cursor } });
    if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${JSON.stringify(r.data)}`);
    for (const row of (r.data[key] as Record<string, unknown>[] | undefined) ?? []) each(row);
    cursor = r.data.nextCursor as string | undefined;
    if (!cursor) return;
  }
  throw new Error(`GET ${url}: more than 10,000 pages`);
}

const killAll = (): void => group?.killAll();
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

main().then(
  (f) => {
    const ok =
      f.acknowledged === f.subscriptions &&
      f.cycles === f.subscriptions &&
      f.terminal === f.cycles &&
      f.doubleCharges === 0 &&
      f.killedChargesSettled === f.chargesInFlightAtKill &&
      f.subscriptionsLost === 0 &&
      f.listed === f.acknowledged &&
      f.paidInvoiceMismatches === 0;
    console.log('');
    console.log(
      `cluster test: Temporal server ${f.serverVersion} on PostgreSQL 15, 4 history shards, 2 workers, 2 APIs`,
    );
    console.log(
      `  subscriptions: ${f.subscriptions} created (${f.acknowledged} acknowledged, ${f.createRetries} create retries), lost: ${f.subscriptionsLost}`,
    );
    console.log(
      `  worker SIGKILLs: ${f.workerKills} (charges of that worker at the gateway: ${f.chargesInFlightAtKill}, each paid exactly once afterwards: ${f.killedChargesSettled}); unplanned worker exits: ${f.workerExitsUnplanned}`,
    );
    console.log(`  Temporal server restarts: ${f.serverRestarts} (down ${secs(f.serverDownMs)})`);
    console.log(`  first-period cycles: ${f.cycles}, terminal: ${f.terminal} ${JSON.stringify(f.byStatus)}`);
    console.log(`  ledger successes: ${f.ledgerSuccesses}; periods charged more than once: ${f.doubleCharges}`);
    console.log(
      `  records: ${f.listed} subscriptions listed of ${f.acknowledged} acknowledged; paid cycles ${f.paidCycles}, without exactly one paid invoice: ${f.paidInvoiceMismatches}`,
    );
    console.log(
      `  time: setup ${secs(f.setupMs)}, billing under chaos ${secs(f.billingMs)}, total ${secs(Date.now() - t0)}`,
    );
    console.log(ok ? 'cluster test passed' : 'cluster test FAILED');
    process.exit(ok ? 0 : 1);
  },
  (err: unknown) => {
    console.error(
      `cluster test FAILED after ${secs(Date.now() - t0)}: ${err instanceof Error ? err.message : String(err)}`,
    );
    process.exit(1);
  },
);
