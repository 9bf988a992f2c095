/**
 * `npm run dashboard:render`: a real run of the engine, drawn as its dashboard shows it.
 *
 * 1. Starts the embedded stack (`npm start`'s: Temporal dev server + UI, QorePay sandbox, worker, API) on its own
 *    ports and a fresh SQLite file, with the dev-only minute schedules.
 * 2. Starts a local Prometheus that scrapes the worker and the API every 5 s and evaluates the real alert rules
 *    (deploy/prometheus/alerts.yml). Prometheus is a Go program: PROMETHEUS_BIN, `prometheus` on PATH, or
 *    ~/go/bin/prometheus (`GOTOOLCHAIN=auto go install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0`).
 * 3. Registers subscriptions that bill every minute with a mix of sandbox cards (paid, pending, silent pending,
 *    soft declines that recover, a hard decline, a merchant-configuration decline, gateway 5xx) and lets them run.
 * 4. Renders every dashboard panel from Prometheus (tools/dashboard/render.ts) into docs/images/dashboard/, writes
 *    the alerts Prometheus fired, and, when Chromium is installed, screenshots the Temporal UI (docs/images/).
 *
 *   npm run dashboard:render -- [--minutes 8] [--port-base 27000] [--out docs/images] [--no-ui]
 *   npm run dashboard:render -- --prometheus http://127.0.0.1:9090 --since 6h   # only draw, from any Prometheus
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import axios from 'axios';
import { DEMO_MINUTE_DUNNING } from '../../src/dev/embedded-stack';
import { ALERTS_FILE, ROOT } from './queries';
import { renderDashboard, type RenderedPanel } from './render';
import { captureTemporalUi, findChromium } from './temporal-ui';

const API_KEY = 'dev-api-key-change-me';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (line: string): void => void process.stdout.write(`${line}\n`);

function findPrometheus(): string {
  const candidates = [
    process.env.PROMETHEUS_BIN,
    ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'prometheus')),
    join(homedir(), 'go', 'bin', 'prometheus'),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'no Prometheus binary: set PROMETHEUS_BIN, or build one with ' +
        '`GOTOOLCHAIN=auto go install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0`',
    );
  }
  return found;
}

/** Thrown by a probe when waiting longer cannot help (the process it waits for has exited). */
class GaveUp extends Error {}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GaveUp) throw err;
      last = err;
    }
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

function startProcess(
  name: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess & { out: string } {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & {
    out: string;
  };
  child.out = '';
  const keep = (d: Buffer): void => {
    child.out = (child.out + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('exit', (code, signal) => log(`  (${name} exited: ${signal ?? code})`));
  return child;
}

async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** [subscription id, sandbox card token, price in minor units, currency] */
const SUBSCRIPTIONS: [string, string, number, string][] = [
  ['pays-1', 'tok_success_pays1', 250_000, 'NGN'],
  ['pays-2', 'tok_success_pays2', 990_000, 'NGN'],
  ['pays-usd', 'tok_success_paysusd', 4_900, 'USD'],
  ['pending-webhook', 'tok_pending_paid_pw', 250_000, 'NGN'],
  ['pending-silent', 'tok_pending_silent_ps', 150_000, 'NGN'],
  ['pending-fails', 'tok_pending_fail_pf', 150_000, 'NGN'],
  ['recovers-1', 'tok_soft1_r1', 250_000, 'NGN'],
  ['recovers-3', 'tok_soft3_r3', 500_000, 'NGN'],
  ['stolen-card', 'tok_hard_stolen_card_sc', 250_000, 'NGN'],
  ['merchant-config', 'tok_merchant_mc', 250_000, 'NGN'],
  ['gateway-5xx', 'tok_503x2_g5', 250_000, 'NGN'],
];

async function seed(apiUrl: string, runTag: string): Promise<string[]> {
  const now = new Date();
  const anchor = now.toISOString().slice(0, 16);
  const ids: string[] = [];
  for (const [name, token, priceMinor, currency] of SUBSCRIPTIONS) {
    const subscriptionId = `${name}-${runTag}`;
    const res = await axios.post(
      `${apiUrl}/v1/subscriptions`,
      {
        subscriptionId,
        customerId: `customer-${name}`,
        customerEmail: `${name}@example.com`,
        recurringToken: `${token}${runTag}`,
        plan: { planId: 'demo-minutely', currency, lineItems: [{ name: 'Demo plan', priceMinor, quantity: 1 }] },
        schedule: { intervalUnit: 'minute', intervalCount: 1, anchor, timeZone: 'UTC' },
        dunning: DEMO_MINUTE_DUNNING,
      },
      { headers: { authorization: `Bearer ${API_KEY}` }, validateStatus: () => true },
    );
    if (res.status >= 300)
      throw new Error(`POST /v1/subscriptions ${subscriptionId}: ${res.status} ${JSON.stringify(res.data)}`);
    ids.push(subscriptionId);
  }
  return ids;
}

interface PromAlert {
  labels: Record<string, string>;
  state: string;
  activeAt: string;
  value: string;
}

function alertsMarkdown(alerts: PromAlert[], start: Date, end: Date): string {
  const rows = alerts
    .map((a) => {
      const { alertname, ...rest } = a.labels;
      const labels = Object.entries(rest)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      return `| ${alertname} | ${a.state} | ${labels} | ${a.activeAt.slice(11, 19)} |`;
    })
    .sort();
  return [
    `Alerts of deploy/prometheus/alerts.yml as Prometheus evaluated them at the end of the run`,
    `(${start.toISOString().slice(0, 16)}–${end.toISOString().slice(11, 16)} UTC, \`npm run dashboard:render\`):`,
    '',
    '| alert | state | labels | active since (UTC) |',
    '| ----- | ----- | ------ | ------------------ |',
    ...(rows.length ? rows : ['| (none) | | | |']),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '8' },
      'port-base': { type: 'string', default: '27000' },
      out: { type: 'string', default: join('docs', 'images') },
      prometheus: { type: 'string' },
      since: { type: 'string', default: '6h' },
      'no-ui': { type: 'boolean', default: false },
      chromium: { type: 'string' },
    },
  });
  const outDir = join(ROOT, values.out);
  const panelDir = join(outDir, 'dashboard');
  mkdirSync(panelDir, { recursive: true });
  const report = (panels: RenderedPanel[]): void => {
    for (const p of panels) log(`  ${relative(ROOT, join(panelDir, p.file))}: ${p.series} series, ${p.points} points`);
  };

  if (values.prometheus) {
    const m = /^(\d+)([mhd])$/.exec(values.since);
    if (!m) throw new Error('--since: a duration like 30m, 6h or 2d');
    const ms = Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
    const end = new Date();
    report(
      await renderDashboard({
        prometheusUrl: values.prometheus,
        start: new Date(end.getTime() - ms),
        end,
        outDir: panelDir,
      }),
    );
    return;
  }

  const base = Number(values['port-base']);
  const minutes = Number(values.minutes);
  if (!Number.isInteger(base) || base < 1024 || base > 65000) throw new Error('--port-base: an integer in 1024..65000');
  if (!(minutes > 0 && minutes <= 120)) throw new Error('--minutes: a number of minutes in (0, 120]');
  const ports = {
    temporal: base + 233,
    ui: base + 234,
    api: base + 300,
    metrics: base + 464,
    qorepay: base + 480,
    prom: base + 90,
  };
  const work = mkdtempSync(join(tmpdir(), 'billing-dashboard-'));
  const prometheusBin = findPrometheus();
  let stack: (ChildProcess & { out: string }) | undefined;
  let prom: (ChildProcess & { out: string }) | undefined;
  try {
    log(
      `Starting the engine (Temporal ${ports.temporal}, UI ${ports.ui}, API ${ports.api}, metrics ${ports.metrics})...`,
    );
    stack = startProcess(
      'engine',
      process.execPath,
      [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'src', 'cli.ts'), 'start'],
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_DEV_PORT: String(ports.temporal),
        TEMPORAL_UI_PORT: String(ports.ui),
        TEMPORAL_DEV_DB_FILE: join(work, 'temporal.sqlite'),
        API_PORT: String(ports.api),
        METRICS_PORT: String(ports.metrics),
        QOREPAY_SANDBOX_PORT: String(ports.qorepay),
        DEV_MINUTE_SCHEDULES: 'true',
        DEMO_SEED: 'false',
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
      },
    );
    const s = stack;
    await waitFor(
      'the engine to start',
      async () => {
        if (s.exitCode !== null) throw new GaveUp(`the engine exited:\n${s.out}`);
        return s.out.includes('Press Ctrl-C to stop.') ? true : undefined;
      },
      180_000,
    );

    const promConfig = join(work, 'prometheus.yml');
    writeFileSync(
      promConfig,
      [
        'global: { scrape_interval: 5s, evaluation_interval: 5s }',
        `rule_files: [${JSON.stringify(ALERTS_FILE)}]`,
        'scrape_configs:',
        `  - { job_name: billing-worker, static_configs: [{ targets: ['127.0.0.1:${ports.metrics}'] }] }`,
        `  - { job_name: billing-api, static_configs: [{ targets: ['127.0.0.1:${ports.api}'] }] }`,
        '',
      ].join('\n'),
    );
    prom = startProcess(
      'prometheus',
      prometheusBin,
      [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${join(work, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${ports.prom}`,
      ],
      { PATH: process.env.PATH, HOME: process.env.HOME },
    );
    const prometheusUrl = `http://127.0.0.1:${ports.prom}`;
    const p = prom;
    await waitFor(
      'Prometheus to be ready',
      async () => {
        if (p.exitCode !== null) throw new GaveUp(`Prometheus exited:\n${p.out}`);
        return (await axios.get(`${prometheusUrl}/-/ready`, { timeout: 2_000 })).status === 200 ? true : undefined;
      },
      60_000,
    );

    const start = new Date();
    const runTag = start.toISOString().slice(11, 16).replace(':', '');
    const apiUrl = `http://127.0.0.1:${ports.api}`;
    const ids = await seed(apiUrl, runTag);
    log(`Registered ${ids.length} subscriptions billing every minute; running for ${minutes} minutes...`);
    for (let m = 1; m <= minutes; m++) {
      await sleep(60_000);
      const up = await axios.get<{ data: { result: { metric: { job: string }; value: [number, string] }[] } }>(
        `${prometheusUrl}/api/v1/query`,
        { params: { query: 'up' } },
      );
      const targets = up.data.data.result.map((r) => `${r.metric.job}=${r.value[1]}`).join(' ');
      const charges = await axios.get<{ data: { result: { value: [number, string] }[] } }>(
        `${prometheusUrl}/api/v1/query`,
        {
          params: { query: 'sum(billing_charges)' },
        },
      );
      log(
        `  minute ${m}/${minutes}: scrape targets ${targets}; charge attempts so far ${charges.data.data.result[0]?.value[1] ?? 0}`,
      );
      if (s.exitCode !== null) throw new Error(`the engine exited:\n${s.out}`);
    }
    const end = new Date();

    log('Rendering the dashboard panels from Prometheus...');
    report(await renderDashboard({ prometheusUrl, start, end, outDir: panelDir }));
    const alerts = await axios.get<{ data: { alerts: PromAlert[] } }>(`${prometheusUrl}/api/v1/alerts`);
    const alertsFile = join(panelDir, 'alerts.md');
    // Formatted as `npm run format:check` expects it, so a rerun leaves a committable file.
    const prettier = await import('prettier');
    const md = alertsMarkdown(alerts.data.data.alerts, start, end);
    writeFileSync(
      alertsFile,
      await prettier.format(md, { ...(await prettier.resolveConfig(alertsFile)), parser: 'markdown' }),
    );
    log(`  ${relative(ROOT, alertsFile)}: ${alerts.data.data.alerts.length} alerts pending or firing`);

    const chromium = findChromium(values.chromium);
    if (values['no-ui']) log('Temporal UI screenshots skipped (--no-ui).');
    else if (!chromium) log('Temporal UI screenshots skipped: no Chromium (apt-get install -y chromium).');
    else {
      const ns = '/namespaces/default/workflows';
      const written = await captureTemporalUi({
        uiUrl: `http://127.0.0.1:${ports.ui}`,
        chromium,
        outDir,
        shots: [
          {
            path: `${ns}/${encodeURIComponent(`cycle:recovers-3-${runTag}:0`)}`,
            file: 'temporal-ui-cycle-metadata.png',
            waitForText: 'charge attempt',
            tab: 'User Metadata',
            tabText: 'Current Details',
          },
          {
            path: `${ns}/${encodeURIComponent(`cycle:recovers-3-${runTag}:0`)}`,
            file: 'temporal-ui-cycle-timeline.png',
            waitForText: 'charge attempt',
            scrollTo: 'Timeline',
          },
        ],
      });
      for (const f of written) log(`  ${relative(ROOT, f)}`);
    }
  } finally {
    await stop(prom, 'SIGTERM');
    await stop(stack, 'SIGINT');
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`dashboard:render failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
