/**
 * A worker and an API started while Temporal is unreachable (a compose stack coming up, a server restart overlapping
 * a worker restart) do not exit: they retry, logging each try, report not ready, and become ready once Temporal
 * answers. Temporal "comes up" here as a TCP relay to the test run's dev server opened on the address they were given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import axios from 'axios';
import { eventually } from '../support/billing-stack';

const ROOT = join(__dirname, '..', '..');
const children: ChildProcess[] = [];
let relay: Server | undefined;
const sockets = new Set<Socket>();

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => (relay ? relay.close(() => r()) : r()));
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function startProcess(entry: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, entry)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

it('worker and API wait for an unreachable Temporal, logging each try, and are ready once it answers', async () => {
  const [temporalPort, healthPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const common = { TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, TEMPORAL_TASK_QUEUE: `startup-${temporalPort}` };
  const worker = startProcess('src/worker.ts', { ...common, HEALTH_PORT: String(healthPort) });
  const api = startProcess('src/api-process.ts', { ...common, API_PORT: String(apiPort), API_KEYS: 'k-0123456789' });
  const tries = (out: string) => out.split('\n').filter((l) => l.includes('unreachable; retrying')).length;

  // Nothing listens: both keep running, log their tries, and say they are not ready.
  await eventually(() => tries(worker.output()) >= 2 && tries(api.output()) >= 2, 'two logged tries each', 60_000);
  expect(worker.child.exitCode).toBeNull();
  expect(api.child.exitCode).toBeNull();
  const workerReady = () => axios.get(`http://127.0.0.1:${healthPort}/readyz`, { validateStatus: () => true });
  const apiReady = () => axios.get(`http://127.0.0.1:${apiPort}/readyz`, { validateStatus: () => true });
  expect((await workerReady()).status).toBe(503);
  expect((await apiReady()).status).toBe(503);
  expect((await axios.get(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);

  // Temporal comes up at that address.
  const [host, port] = process.env.TEMPORAL_TEST_ADDRESS!.split(':') as [string, string];
  relay = createServer((client) => {
    const upstream = connect(Number(port), host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => relay!.listen(temporalPort, '127.0.0.1', r));

  await eventually(async () => (await workerReady()).status === 200, 'the worker to be ready', 90_000);
  await eventually(async () => (await apiReady()).status === 200, 'the API to be ready', 90_000);
  expect(worker.output()).toContain('billing worker started');

  // A clean stop still works after the retries.
  worker.child.kill('SIGTERM');
  api.child.kill('SIGTERM');
  const codes = await Promise.all(
    [worker.child, api.child].map((c) => new Promise<number | null>((r) => c.once('exit', (code) => r(code)))),
  );
  expect(codes).toEqual([0, 0]);
}, 180_000);
