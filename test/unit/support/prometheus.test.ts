import { parseExposition, total } from '../../support/prometheus';

const TEXT = `# HELP billing_charges Charge attempts
# TYPE billing_charges counter
billing_charges{outcome="paid",decline_class="none"} 2
billing_charges{outcome="declined",decline_class="soft"} 1
# TYPE depth histogram
depth_bucket{le="1"} 2
depth_bucket{le="+Inf"} 3
depth_sum{service="w"} 4
depth_count{service="w"} 3
# TYPE g gauge
g{msg="a \\"quoted\\" \\\\ value"} 1.5
`;

it('reads samples, labels with escapes and histogram parts', () => {
  const s = parseExposition(TEXT);
  expect(total(s, 'billing_charges')).toBe(3);
  expect(total(s, 'billing_charges', { decline_class: 'soft' })).toBe(1);
  expect(total(s, 'depth_count')).toBe(3);
  expect(total(s, 'depth_bucket', { le: '+Inf' })).toBe(3);
  expect(s.find((x) => x.name === 'g')?.labels.msg).toBe('a "quoted" \\ value');
});

it.each([
  ['an undeclared family', 'x 1'],
  ['a malformed label', '# TYPE x counter\nx{a=1} 1'],
  ['a non-number', '# TYPE x counter\nx 1,5'],
  ['a suffix on a counter', '# TYPE x counter\nx_sum 1'],
])('refuses %s', (_what, text) => {
  expect(() => parseExposition(text)).toThrow();
});
