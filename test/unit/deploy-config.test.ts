/**
 * The monitoring files under deploy/ against the code: the dashboard and the alert rules parse (zod shape, PromQL
 * through Prometheus's own grammar), read only billing metrics the code defines, with the right histogram suffixes,
 * alert on codes the engine really raises, and are wired into docker-compose.yml the way Prometheus and Grafana read
 * them. The Temporal SDK's metric names are checked against a real scrape in test/e2e/metrics.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BillingMetric, METRIC_BUCKETS } from '../../src/shared/metrics';
import { ROOT, loadAlertRules, loadDashboard, metricUses, queryPanels, selectors } from '../../tools/dashboard/queries';

const yamlFile = (...path: string[]): unknown => parseYaml(readFileSync(join(ROOT, ...path), 'utf8'));

/** The exposition names of the billing metrics the code defines: histograms as _bucket, _sum and _count. */
function billingExpositionNames(): Set<string> {
  const names = new Set<string>();
  for (const name of Object.values(BillingMetric)) {
    if (METRIC_BUCKETS[name]) for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  return names;
}

describe('PromQL names', () => {
  it('finds the metric names and matchers of a query, and refuses one that does not parse', () => {
    expect(
      selectors('sum by (code) (increase(billing_alerts{code=~"a|b", severity="critical"}[$__rate_interval]))'),
    ).toEqual([
      {
        metric: 'billing_alerts',
        matchers: [
          { label: 'code', op: '=~', value: 'a|b' },
          { label: 'severity', op: '=', value: 'critical' },
        ],
      },
    ]);
    expect(selectors('up == 0 and on() billing_cycles').map((s) => s.metric)).toEqual(['up', 'billing_cycles']);
    expect(() => selectors('sum(rate(billing_charges[5m])')).toThrow(/does not parse/);
  });
});

describe('Grafana dashboard (deploy/grafana)', () => {
  const dashboard = loadDashboard();
  const panels = queryPanels(dashboard);

  it('has unique panel ids, panels inside the 24-column grid, and every query on the provisioned datasource', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    const provisioned = yamlFile('deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml') as {
      datasources: { uid: string; type: string; url: string }[];
    };
    const uids = provisioned.datasources.map((d) => d.uid);
    for (const p of panels) {
      expect(uids).toContain(p.datasource.uid);
      for (const t of p.targets) expect(uids).toContain(t.datasource.uid);
    }
    expect(provisioned.datasources[0]!.url).toBe('http://prometheus:9090'); // the compose service below
  });

  it('shows every billing metric the code defines', () => {
    const used = new Set(panels.flatMap((p) => p.targets.flatMap((t) => selectors(t.expr).map((s) => s.metric))));
    const base = (n: string): string => n.replace(/_(bucket|sum|count)$/, '');
    const shown = new Set([...used].map(base));
    for (const name of Object.values(BillingMetric))
      expect({ name, shown: shown.has(name) }).toEqual({ name, shown: true });
  });
});

describe('Prometheus alert rules (deploy/prometheus/alerts.yml)', () => {
  const rules = loadAlertRules();

  it('has one rule per name, each with a severity, a summary and a parsing expression', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) expect(selectors(r.expr).length).toBeGreaterThan(0);
  });

  it('covers the alerts the engine raises: pending too long, settlement failed, gateway unavailable, cycle lost, reconciliation', () => {
    const codes = new Set(
      rules.flatMap((r) =>
        selectors(r.expr)
          .filter((s) => s.metric === BillingMetric.alerts)
          .flatMap((s) =>
            s.matchers.filter((m) => m.label === 'code' && m.op !== '!~').flatMap((m) => m.value.split('|')),
          ),
      ),
    );
    for (const code of ['pending_too_long', 'gateway_unavailable', 'cycle_lost']) expect(codes).toContain(code);
    const metrics = new Set(rules.flatMap((r) => selectors(r.expr).map((s) => s.metric)));
    expect(metrics).toContain(BillingMetric.settlementFailures);
    expect(metrics).toContain(BillingMetric.reconciliationDiscrepancies);
  });

  it('matches only alert codes the domain raises (a misspelt code would never fire)', () => {
    // Every module of the domain, whatever its folder (the machines are split by concern into folders).
    const domain = join(ROOT, 'src', 'domain');
    const source = readdirSync(domain, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(domain, f), 'utf8'))
      .join('\n');
    const raised = new Set([...source.matchAll(/\bcode: '([a-z_]+)'/g)].map((m) => m[1]!));
    expect(raised).toContain('pending_too_long'); // the pattern reads the domain at all
    for (const r of rules) {
      for (const s of selectors(r.expr).filter((x) => x.metric === BillingMetric.alerts)) {
        for (const m of s.matchers.filter((x) => x.label === 'code')) {
          for (const code of m.value.split('|'))
            expect({ rule: r.alert, code, raised: raised.has(code) }).toEqual({
              rule: r.alert,
              code,
              raised: true,
            });
        }
      }
    }
  });
});

describe('unit tests of the alert rules (deploy/prometheus/alerts.test.yml)', () => {
  const file = yamlFile('deploy', 'prometheus', 'alerts.test.yml') as {
    rule_files: string[];
    tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
  };

  it('make every rule fire at least once', () => {
    expect(file.rule_files).toEqual(['alerts.yml']);
    const fired = new Set(
      file.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    expect(loadAlertRules().filter((r) => !fired.has(r.alert))).toEqual([]);
  });

  // promtool is a Go program the project does not install (building it takes about half an hour on 2 shared cores):
  // PROMTOOL, `promtool` on PATH or ~/go/bin/promtool; see README "What operators see".
  const promtool = [
    process.env.PROMTOOL,
    ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'promtool')),
    join(homedir(), 'go', 'bin', 'promtool'),
  ].find((p): p is string => !!p && existsSync(p));
  (promtool ? it : it.skip)(
    'pass `promtool check rules` and `promtool test rules` (when promtool is installed)',
    () => {
      const run = (...args: string[]): string =>
        execFileSync(promtool!, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(run('check', 'rules', 'deploy/prometheus/alerts.yml')).toContain('SUCCESS');
      expect(run('test', 'rules', 'deploy/prometheus/alerts.test.yml')).toContain('SUCCESS');
      expect(run('check', 'config', '--syntax-only', 'deploy/prometheus/prometheus.yml')).toContain('SUCCESS');
    },
  );
});

describe('metric names in deploy/ against the code', () => {
  it('reads only billing metrics the code defines, histograms only through _bucket, _sum and _count', () => {
    const defined = billingExpositionNames();
    const unknown = [...metricUses()]
      .filter(([name]) => name.startsWith('billing_') && !defined.has(name))
      .map(([name, where]) => `${name} (${where.join(', ')})`);
    expect(unknown).toEqual([]);
  });

  it('reads nothing but billing_*, temporal_* (the SDK, checked against a scrape in e2e) and Prometheus own up', () => {
    const other = [...metricUses().keys()].filter((n) => !/^(billing|temporal)_/.test(n) && n !== 'up');
    expect(other).toEqual([]);
  });
});

describe('docker-compose.yml wiring', () => {
  const compose = yamlFile('docker-compose.yml') as {
    services: Record<string, { volumes?: string[]; environment?: Record<string, string>; image?: string }>;
  };

  it('mounts the Prometheus config and rules where prometheus.yml reads them, and scrapes the worker and the API', () => {
    const prom = compose.services.prometheus!;
    expect(prom.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(prom.volumes).toEqual(
      expect.arrayContaining([
        './deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
        './deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro',
      ]),
    );
    const config = yamlFile('deploy', 'prometheus', 'prometheus.yml') as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(config.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    const targets = Object.fromEntries(config.scrape_configs.map((s) => [s.job_name, s.static_configs[0]!.targets]));
    expect(targets['billing-worker']).toEqual([`worker:${compose.services.worker!.environment!.METRICS_PORT}`]);
    // The API's internal metrics port: on the API port, /metrics needs an operator key.
    expect(targets['billing-api']).toEqual([`api:${compose.services.api!.environment!.API_METRICS_PORT}`]);
  });

  it('provisions the dashboard from the folder Grafana mounts', () => {
    const grafana = compose.services.grafana!;
    expect(grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    const provider = yamlFile('deploy', 'grafana', 'provisioning', 'dashboards', 'billing.yml') as {
      providers: { options: { path: string } }[];
    };
    const mount = grafana.volumes!.find((v) => v.startsWith('./deploy/grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(provider.providers[0]!.options.path);
    expect(readdirSync(join(ROOT, 'deploy', 'grafana', 'dashboards'))).toContain('billing.json');
    expect(grafana.environment!.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?/); // no default
  });
});
