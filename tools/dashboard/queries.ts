/**
 * The Grafana dashboard and the Prometheus alert rules under deploy/, read as data: their shape (zod), their PromQL
 * queries, and the metric names those queries read (parsed with Prometheus's own PromQL grammar, not by pattern).
 * Used by the dashboard renderer (tools/dashboard/render.ts) and by the tests that hold the names to what the
 * code exports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const ROOT = join(__dirname, '..', '..');
export const DASHBOARD_FILE = join(ROOT, 'deploy', 'grafana', 'dashboards', 'billing.json');
export const ALERTS_FILE = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');

const datasource = z.object({ type: z.literal('prometheus'), uid: z.string().min(1) });
const target = z.object({
  refId: z.string().min(1),
  expr: z.string().min(1),
  legendFormat: z.string(),
  datasource,
  instant: z.boolean().optional(),
  /** `heatmap`: cumulative histogram buckets shown as counts per bucket. */
  format: z.enum(['time_series', 'table', 'heatmap']).optional(),
});
const gridPos = z.object({
  x: z.number().int().min(0).max(23),
  y: z.number().int().min(0),
  w: z.number().int().min(1).max(24),
  h: z.number().int().min(1),
});
const rowPanel = z.object({ id: z.number().int(), type: z.literal('row'), title: z.string(), gridPos });
const queryPanel = z.object({
  id: z.number().int(),
  type: z.enum(['timeseries', 'bargauge', 'stat']),
  title: z.string().min(1),
  description: z.string().min(1),
  datasource,
  gridPos,
  targets: z.array(target).min(1),
  fieldConfig: z.object({ defaults: z.object({ unit: z.string().min(1) }).passthrough() }).passthrough(),
});
export const dashboardSchema = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  schemaVersion: z.number().int(),
  time: z.object({ from: z.string(), to: z.string() }),
  panels: z.array(z.union([rowPanel, queryPanel])).min(1),
});
export type Dashboard = z.infer<typeof dashboardSchema>;
export type QueryPanel = z.infer<typeof queryPanel>;

const alertRule = z
  .object({
    alert: z.string().regex(/^[A-Z][A-Za-z0-9]+$/, 'alert names are CamelCase identifiers'),
    expr: z.string().min(1),
    for: z
      .string()
      .regex(/^\d+[smhd]$/)
      .optional(),
    labels: z.object({ severity: z.enum(['critical', 'warning']) }).passthrough(),
    annotations: z.object({ summary: z.string().min(1), description: z.string().min(1) }),
  })
  .strict();
export const alertRulesSchema = z
  .object({ groups: z.array(z.object({ name: z.string().min(1), rules: z.array(alertRule).min(1) }).strict()).min(1) })
  .strict();
export type AlertRule = z.infer<typeof alertRule>;

export function loadDashboard(file = DASHBOARD_FILE): Dashboard {
  return dashboardSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export function queryPanels(d: Dashboard): QueryPanel[] {
  return d.panels.filter((p): p is QueryPanel => p.type !== 'row');
}

export function loadAlertRules(file = ALERTS_FILE): AlertRule[] {
  return alertRulesSchema.parse(parseYaml(readFileSync(file, 'utf8'))).groups.flatMap((g) => g.rules);
}

/**
 * A Grafana query as Prometheus runs it: Grafana's range variables replaced by durations. `$__rate_interval` is at
 * least four scrape intervals (Grafana's rule), so a rate always has two samples.
 */
export function toPromQL(expr: string, vars: { rateInterval: string; range: string; interval: string }): string {
  return expr
    .replaceAll('$__rate_interval', vars.rateInterval)
    .replaceAll('$__range', vars.range)
    .replaceAll('$__interval', vars.interval);
}

export interface SelectorUse {
  /** The metric name of a vector selector (`billing_charges` in `rate(billing_charges{outcome="paid"}[5m])`). */
  metric: string;
  /** Its label matchers: label → [operator, value]. */
  matchers: { label: string; op: string; value: string }[];
}

/** The vector selectors of a PromQL expression; throws, naming the position, when it does not parse. */
export function selectors(expr: string): SelectorUse[] {
  const promql = toPromQL(expr, { rateInterval: '1m', range: '1h', interval: '15s' });
  const tree = parser.parse(promql);
  const out: SelectorUse[] = [];
  const text = (from: number, to: number): string => promql.slice(from, to);
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        throw new Error(`PromQL does not parse at ${node.from}: …${promql.slice(Math.max(0, node.from - 20))}`);
      }
      if (node.name !== 'VectorSelector') return;
      const id = node.node.getChild('Identifier');
      if (!id) return; // {__name__="..."} selectors: none in our files
      const matchers: SelectorUse['matchers'] = [];
      const list = node.node.getChild('LabelMatchers');
      for (const m of list?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = m.getChild('LabelName');
        const op = m.getChild('MatchOp');
        const value = m.getChild('StringLiteral');
        if (label && op && value) {
          matchers.push({
            label: text(label.from, label.to),
            op: text(op.from, op.to),
            value: JSON.parse(text(value.from, value.to)) as string,
          });
        }
      }
      out.push({ metric: text(id.from, id.to), matchers });
    },
  });
  return out;
}

/** Every metric name the dashboard's panels and the alert rules read, with where each is used. */
export function metricUses(): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  const add = (name: string, where: string): void => {
    uses.set(name, [...(uses.get(name) ?? []), where]);
  };
  for (const p of queryPanels(loadDashboard())) {
    for (const t of p.targets) for (const s of selectors(t.expr)) add(s.metric, `dashboard panel "${p.title}"`);
  }
  for (const r of loadAlertRules()) for (const s of selectors(r.expr)) add(s.metric, `alert rule ${r.alert}`);
  return uses;
}
