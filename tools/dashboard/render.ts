/**
 * Renders the Grafana dashboard's panels (deploy/grafana/dashboards/billing.json) to PNG from a real Prometheus:
 * each panel's own PromQL goes to Prometheus's query API over a time range, and the answer is drawn with Vega-Lite
 * (rendered to SVG by Vega, rasterised by sharp; no browser). Grafana cannot run on every machine (no Docker here);
 * these images are what its panels show over the same data.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import axios from 'axios';
// Types by file path: vega-lite declares them only under "exports", which this project's "node" resolution skips.
import type * as VegaLite from 'vega-lite/build/index';
import { loadDashboard, queryPanels, toPromQL, type QueryPanel } from './queries';

const VEGA_LITE: string = 'vega-lite';
const load = async () => ({
  vega: await import('vega'),
  vl: (await import(VEGA_LITE)) as typeof VegaLite,
  sharp: (await import('sharp')).default,
});

interface PromSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}
interface Row {
  time: string;
  series: string;
  value: number;
}

export interface RenderOptions {
  prometheusUrl: string;
  start: Date;
  end: Date;
  outDir: string;
  /** Query resolution (Grafana's step); default 15 s. */
  stepSeconds?: number;
  /** What `$__rate_interval` becomes; default 1m (Grafana: at least four scrape intervals). */
  rateInterval?: string;
}

export interface RenderedPanel {
  file: string;
  title: string;
  /** The panel's dashboard row (gridPos.y). */
  row: number;
  series: number;
  points: number;
}

/** Grafana's legend format: `{{label}}` replaced by the series' label values. */
function legend(format: string, metric: Record<string, string>): string {
  const text = format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, k: string) => metric[k] ?? '');
  return text.trim() || JSON.stringify(metric);
}

async function query(
  o: RenderOptions,
  expr: string,
  instant: boolean,
  vars: Parameters<typeof toPromQL>[1],
): Promise<PromSeries[]> {
  const promql = toPromQL(expr, vars);
  const params = instant
    ? { query: promql, time: o.end.getTime() / 1000 }
    : { query: promql, start: o.start.getTime() / 1000, end: o.end.getTime() / 1000, step: o.stepSeconds ?? 15 };
  const res = await axios.get<{ status: string; data: { result: PromSeries[] }; error?: string }>(
    `${o.prometheusUrl}/api/v1/${instant ? 'query' : 'query_range'}`,
    { params, timeout: 30_000 },
  );
  if (res.data.status !== 'success') throw new Error(`Prometheus refused ${promql}: ${res.data.error}`);
  return res.data.data.result;
}

const UNIT_AXIS: Record<string, { title: string; format?: string }> = {
  reqps: { title: 'per second', format: '.3~f' },
  percentunit: { title: 'share', format: '.0%' },
  s: { title: 'seconds', format: '.2~f' },
  ms: { title: 'milliseconds', format: '~s' },
  short: { title: '', format: '~s' },
};

// Grafana's dark theme, near enough that the images read like the real dashboard.
const THEME: NonNullable<VegaLite.TopLevelSpec['config']> = {
  background: '#181b1f',
  view: { stroke: '#2c3235' },
  title: { color: '#ccccdc', fontSize: 14, anchor: 'start', subtitleColor: '#8e8e9e', subtitleFontSize: 10 },
  axis: {
    labelColor: '#8e8e9e',
    titleColor: '#8e8e9e',
    gridColor: '#2c3235',
    domainColor: '#2c3235',
    tickColor: '#2c3235',
  },
  legend: { labelColor: '#ccccdc', titleColor: '#8e8e9e', labelLimit: 260 },
  range: {
    category: ['#73bf69', '#f2cc0c', '#5794f2', '#ff780a', '#f2495c', '#b877d9', '#8ab8ff', '#ff9830', '#96d98d'],
  },
};

function panelSpec(p: QueryPanel, rows: Row[], o: RenderOptions): VegaLite.TopLevelSpec {
  const unit = UNIT_AXIS[p.fieldConfig.defaults.unit] ?? { title: p.fieldConfig.defaults.unit };
  const width = p.gridPos.w >= 12 ? 620 : 400;
  const title = { text: p.title, subtitle: rows.length ? undefined : 'no data in this run' };
  const base = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: THEME,
    width,
    height: 200,
    padding: 12,
    title,
  } as const;
  if (p.type === 'bargauge') {
    return {
      ...base,
      data: { values: rows },
      mark: { type: 'bar', color: '#73bf69' },
      encoding: {
        y: { field: 'series', type: 'nominal', title: null, sort: null },
        x: { field: 'value', type: 'quantitative', title: unit.title, axis: { format: unit.format ?? '~s' } },
      },
    } as VegaLite.TopLevelSpec;
  }
  const stacked =
    (p.fieldConfig.defaults as { custom?: { stacking?: { mode?: string } } }).custom?.stacking?.mode === 'normal';
  const bars = (p.fieldConfig.defaults as { custom?: { drawStyle?: string } }).custom?.drawStyle === 'bars';
  return {
    ...base,
    data: { values: rows },
    mark: bars
      ? { type: 'bar' }
      : stacked
        ? { type: 'area', line: true, opacity: 0.35, interpolate: 'monotone' }
        : { type: 'line', strokeWidth: 2, interpolate: 'monotone' },
    encoding: {
      x: {
        field: 'time',
        type: 'temporal',
        title: null,
        scale: { domain: [o.start.toISOString(), o.end.toISOString()] },
        axis: { format: '%H:%M', labelAngle: 0 },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        title: unit.title,
        stack: stacked || bars ? 'zero' : null,
        axis: { format: unit.format ?? '~s' },
        ...(rows.length ? {} : { scale: { domain: [0, 1] } }),
      },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'right' } },
    },
  } as VegaLite.TopLevelSpec;
}

async function toPng(spec: VegaLite.TopLevelSpec, file: string): Promise<void> {
  const { vega, vl, sharp } = await load();
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  writeFileSync(file, await sharp(Buffer.from(svg)).png().toBuffer());
}

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/\([^)]*\)/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** Queries every panel over [start, end] and writes one PNG per panel into `outDir`. */
export async function renderDashboard(o: RenderOptions): Promise<RenderedPanel[]> {
  const rangeSeconds = Math.max(60, Math.round((o.end.getTime() - o.start.getTime()) / 1000));
  const vars = { rateInterval: o.rateInterval ?? '1m', range: `${rangeSeconds}s`, interval: `${o.stepSeconds ?? 15}s` };
  const out: RenderedPanel[] = [];
  // Panels renamed or removed since the last render must not leave their old picture behind.
  for (const f of readdirSync(o.outDir).filter((n) => /^\d{2}-.*\.png$/.test(n))) rmSync(join(o.outDir, f));
  for (const p of queryPanels(loadDashboard())) {
    const rows: Row[] = [];
    for (const t of p.targets) {
      const instant = p.type === 'bargauge' || t.instant === true;
      for (const s of await query(o, t.expr, instant, vars)) {
        const series = legend(t.legendFormat, s.metric);
        const points = instant ? (s.value ? [s.value] : []) : (s.values ?? []);
        for (const [ts, v] of points) {
          const value = Number(v);
          if (Number.isFinite(value)) rows.push({ time: new Date(ts * 1000).toISOString(), series, value });
        }
      }
    }
    if (p.type === 'bargauge') {
      rows.sort((a, b) => bucketOrder(a.series) - bucketOrder(b.series));
      // Grafana's heatmap format: each cumulative bucket minus the one below it.
      if (p.targets.some((t) => t.format === 'heatmap')) {
        const cumulative = rows.map((r) => r.value);
        rows.forEach((r, i) => (r.value = cumulative[i]! - (i > 0 ? cumulative[i - 1]! : 0)));
      }
    }
    const file = `${String(p.id).padStart(2, '0')}-${slug(p.title)}.png`;
    await toPng(panelSpec(p, rows, o), join(o.outDir, file));
    out.push({
      file,
      title: p.title,
      row: p.gridPos.y,
      series: new Set(rows.map((r) => r.series)).size,
      points: rows.length,
    });
  }
  await composeOverview(out, o.outDir);
  return out;
}

/** One picture of the whole dashboard: the panel images in Grafana's rows (same gridPos.y), rows stacked. */
async function composeOverview(panels: RenderedPanel[], outDir: string): Promise<void> {
  const { sharp } = await load();
  const rows = new Map<number, RenderedPanel[]>();
  for (const p of panels) rows.set(p.row, [...(rows.get(p.row) ?? []), p]);
  const gap = 8;
  const layers: { input: string; left: number; top: number }[] = [];
  let top = gap;
  let width = 0;
  for (const [, row] of [...rows].sort(([a], [b]) => a - b)) {
    let left = gap;
    let height = 0;
    for (const p of row) {
      const input = join(outDir, p.file);
      const meta = await sharp(input).metadata();
      layers.push({ input, left, top });
      left += (meta.width ?? 0) + gap;
      height = Math.max(height, meta.height ?? 0);
    }
    width = Math.max(width, left);
    top += height + gap;
  }
  const full = await sharp({ create: { width, height: top, channels: 3, background: '#111217' } })
    .composite(layers)
    .png()
    .toBuffer();
  // Half the 2x render: sharp enough for a README, a quarter of the bytes.
  await sharp(full)
    .resize({ width: Math.round(width / 2) })
    .png()
    .toFile(join(outDir, 'overview.png'));
}

/** Histogram bucket legends ("≤ 2", "≤ +Inf") in bucket order. */
function bucketOrder(series: string): number {
  const le = series.replace(/^[^0-9+]*/, '');
  return le === '+Inf' ? Infinity : Number(le);
}
