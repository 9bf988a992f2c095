/**
 * A small, strict reader of the Prometheus text exposition format (0.0.4), so tests assert on series and values
 * instead of substrings. Every sample line must parse (metric name, `{label="value",...}` with escapes, a number),
 * and must belong to a family declared by `# TYPE` (histograms: `_bucket`, `_sum`, `_count`); anything else throws.
 * Written by hand because the Temporal Core exporter gives a histogram's buckets fewer labels than its sum and count,
 * which the parser libraries we tried fold into one family and lose the sum and count.
 */
import axios from 'axios';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parseExposition(text: string): Sample[] {
  const types = new Map<string, string>();
  const out: Sample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const where = `line ${i + 1}: ${raw}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+TYPE\s+(\S+)\s+(counter|gauge|histogram|summary|untyped)\s*$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      return;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`no metric name, ${where}`);
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      rest = rest.slice(1);
      for (;;) {
        rest = rest.trimStart();
        if (rest.startsWith('}')) {
          rest = rest.slice(1);
          break;
        }
        const label = LABEL_NAME.exec(rest)?.[0];
        if (!label || rest[label.length] !== '=' || rest[label.length + 1] !== '"')
          throw new Error(`bad label, ${where}`);
        rest = rest.slice(label.length + 2);
        let value = '';
        for (;;) {
          const c = rest[0];
          if (c === undefined) throw new Error(`unterminated label value, ${where}`);
          rest = rest.slice(1);
          if (c === '"') break;
          if (c === '\\') {
            const e = rest[0];
            rest = rest.slice(1);
            if (e === 'n') value += '\n';
            else if (e === '\\' || e === '"') value += e;
            else throw new Error(`bad escape, ${where}`);
          } else value += c;
        }
        labels[label] = value;
        rest = rest.trimStart();
        if (rest.startsWith(',')) rest = rest.slice(1);
        else if (!rest.startsWith('}')) throw new Error(`expected , or }, ${where}`);
      }
    }
    const fields = rest.trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new Error(`bad value, ${where}`);
    const v = fields[0]!;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v === 'NaN' ? NaN : Number(v);
    if (Number.isNaN(value) && v !== 'NaN') throw new Error(`bad value, ${where}`);
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    const type = types.get(family);
    if (!type) throw new Error(`sample of an undeclared family, ${where}`);
    if (family !== name && type !== 'histogram' && type !== 'summary') throw new Error(`suffix on a ${type}, ${where}`);
    out.push({ name, labels, value });
  });
  return out;
}

export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await axios.get<string>(url, { responseType: 'text', timeout: 10_000, headers });
  return parseExposition(res.data);
}

/** Sum of the samples named `name` whose labels include `where`. */
export function total(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
