/**
 * PNG plots of a benchmark run, from its results: Vega-Lite specs rendered to SVG by Vega (no browser, no canvas)
 * and rasterised by sharp. `npm run bench:plot [-- bench/results/full.json]` redraws them from a results file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
// Types by file path: vega-lite declares them only under "exports", which this project's "node" resolution skips.
import type * as VegaLite from 'vega-lite/build/index';
import type { BenchResults } from './results-schema';

type Row = Record<string, string | number>;

const VEGA_LITE: string = 'vega-lite';
// Vega and Vega-Lite are ES modules with top-level await: loaded with import(), not require().
const load = async () => ({
  vega: await import('vega'),
  vl: (await import(VEGA_LITE)) as typeof VegaLite,
  sharp: (await import('sharp')).default,
});

async function toPng(spec: VegaLite.TopLevelSpec, file: string): Promise<void> {
  const { vega, vl, sharp } = await load();
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  writeFileSync(file, await sharp(Buffer.from(svg)).png().toBuffer());
}

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', background: 'white' } as const;
const kindColor = { field: 'workflow', type: 'nominal', scale: { domain: ['engine', 'minimal'] } } as const;

/** Writes the plots next to the results and returns their file names. */
export async function renderPlots(r: BenchResults, outDir: string): Promise<string[]> {
  const written: string[] = [];
  const name = (what: string): string => `${r.mode}-${what}.png`;

  const windows: Row[] = r.variants.flatMap((v) =>
    (v.throughput?.windows ?? []).map((w) => ({
      variant: v.variant,
      workflow: w.kind,
      window: `pair ${w.pair + 1}`,
      cyclesPerSecond: w.cyclesPerSecond,
    })),
  );
  if (windows.length) {
    await toPng(
      {
        ...base,
        title: 'Cycles per second, alternating windows (engine vs minimal workflow)',
        data: { values: windows },
        facet: { column: { field: 'variant', title: 'dev server' } },
        spec: {
          width: 260,
          height: 220,
          mark: 'bar',
          encoding: {
            x: { field: 'window', type: 'nominal', title: null },
            xOffset: { field: 'workflow' },
            y: { field: 'cyclesPerSecond', type: 'quantitative', title: 'cycles/s' },
            color: kindColor,
          },
        },
      },
      join(outDir, name('throughput')),
    );
    written.push(name('throughput'));
  }

  const cpu: Row[] = r.variants.flatMap((v) => {
    const t = v.throughput;
    if (!t) return [];
    return (['engine', 'minimal'] as const).flatMap((kind) =>
      (['server', 'worker', 'sandbox', 'driver'] as const).map((process) => ({
        variant: v.variant,
        workflow: kind,
        process,
        cpuMs: t[kind].cpuMsPerCycle[process],
      })),
    );
  });
  if (cpu.length) {
    await toPng(
      {
        ...base,
        title: 'CPU milliseconds per cycle, by process (median of windows)',
        data: { values: cpu },
        facet: { column: { field: 'variant', title: 'dev server' } },
        spec: {
          width: 200,
          height: 240,
          mark: 'bar',
          encoding: {
            x: { field: 'workflow', type: 'nominal', title: null },
            y: { field: 'cpuMs', type: 'quantitative', title: 'CPU ms / cycle', stack: 'zero' },
            color: { field: 'process', type: 'nominal' },
          },
        },
      },
      join(outDir, name('cpu')),
    );
    written.push(name('cpu'));
  }

  const latency: Row[] = r.variants.flatMap((v) =>
    (v.latency ?? []).flatMap((s) =>
      s.samples.map((ms) => ({ variant: v.variant, series: `${s.kind}, ${s.load}`, ms })),
    ),
  );
  if (latency.length) {
    await toPng(
      {
        ...base,
        title: 'Webhook receipt → cycle paid: cumulative distribution',
        data: { values: latency },
        facet: { column: { field: 'variant', title: 'dev server' } },
        spec: {
          width: 320,
          height: 240,
          transform: [
            {
              window: [{ op: 'cume_dist', as: 'fraction' }],
              sort: [{ field: 'ms' }],
              groupby: ['series'],
            },
          ],
          mark: { type: 'line', interpolate: 'step-after' },
          encoding: {
            x: { field: 'ms', type: 'quantitative', title: 'ms', scale: { type: 'log' } },
            y: { field: 'fraction', type: 'quantitative', title: 'fraction of cycles' },
            color: { field: 'series', type: 'nominal' },
          },
        },
      },
      join(outDir, name('latency')),
    );
    written.push(name('latency'));
  }

  const storm = r.big?.storm;
  if (storm?.timeline.length) {
    const rows: Row[] = storm.timeline.map(([s, n]) => ({ seconds: s, charged: n, series: 'charged' }));
    const perSecond = storm.activitiesPerSecond / storm.activitiesPerCycle;
    for (const s of [0, storm.boundSeconds]) {
      rows.push({ seconds: s, charged: Math.min(storm.n, Math.max(0, s * perSecond)), series: 'rate-limit bound' });
    }
    await toPng(
      {
        ...base,
        title: `Renewal storm: ${storm.n} subscriptions due at once, ${storm.activitiesPerSecond} activities/s`,
        data: { values: rows },
        width: 480,
        height: 260,
        mark: 'line',
        encoding: {
          x: { field: 'seconds', type: 'quantitative', title: 'seconds after the due minute' },
          y: { field: 'charged', type: 'quantitative', title: 'periods charged' },
          color: { field: 'series', type: 'nominal' },
        },
      },
      join(outDir, name('storm')),
    );
    written.push(name('storm'));
  }
  return written;
}

if (require.main === module) {
  const file = resolve(process.argv[2] ?? 'bench/results/full.json');
  const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  renderPlots(results, dirname(file)).then(
    (files) => console.log(`plots for ${basename(file)}: ${files.join(', ')}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
