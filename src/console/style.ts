/**
 * The console's one stylesheet, served by the plugin at /console/assets/console.css (a module rather than a file, so
 * `tsc` builds carry it without a copy step). System fonts, WCAG AA contrast, usable at 1280 px and on a phone.
 */
export const CONSOLE_CSS = `
:root { --ink: #1a1f2b; --muted: #4b5565; --line: #d6dae1; --bg: #f6f7f9; --card: #fff; --accent: #1d4ed8;
  --bad: #a61b1b; --good: #116329; --warn: #8a5300; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: var(--bg); line-height: 1.45; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #111827; color: #f3f4f6; }
.top a { color: #f3f4f6; }
.brand { font-weight: 700; text-decoration: none; }
.top nav ul { display: flex; flex-wrap: wrap; gap: 1rem; list-style: none; margin: 0; padding: 0; }
.top nav a[aria-current="page"] { text-decoration: underline; text-underline-offset: 4px; font-weight: 600; }
.session { margin-left: auto; display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; font-size: .9rem; }
.session form { display: flex; gap: .4rem; align-items: center; margin: 0; }
.who { color: #d1d5db; }
main { max-width: 1240px; margin: 0 auto; padding: 1rem 1.2rem 3rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: .8rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
.card h2 { font-size: .85rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 .4rem; }
.figure { font-size: 1.35rem; font-weight: 650; margin: 0; }
.figure small { font-size: .85rem; color: var(--muted); font-weight: 400; }
.scroll { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef0f4; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid var(--line); background: #eef0f4; white-space: nowrap; }
.badge-active, .badge-paid, .badge-marked_paid { background: #dcfce7; border-color: #86efac; color: var(--good); }
.badge-past_due, .badge-retry_scheduled, .badge-pending, .badge-action_required { background: #fef3c7; border-color: #fcd34d; color: var(--warn); }
.badge-failed, .badge-unpaid, .badge-canceled { background: #fee2e2; border-color: #fca5a5; color: var(--bad); }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: flex-end; margin-bottom: 1rem; }
label { display: block; font-size: .85rem; color: var(--muted); margin-bottom: .2rem; }
input, select { font: inherit; padding: .35rem .5rem; border: 1px solid #8b93a1; border-radius: 6px; background: #fff; color: var(--ink); min-width: 10rem; }
button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid #1e3a8a; background: var(--accent); color: #fff; cursor: pointer; }
.top button { background: #374151; border-color: #6b7280; }
button.danger { background: var(--bad); border-color: #7f1d1d; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; list-style: none; padding: 0; }
.actions a { display: inline-block; padding: .3rem .7rem; border: 1px solid var(--accent); border-radius: 6px; text-decoration: none; background: #fff; }
.field { margin-bottom: .8rem; }
.field-error { display: block; color: var(--bad); font-size: .85rem; }
.hint { font-size: .8rem; color: var(--muted); }
.error { background: #fee2e2; border: 1px solid #fca5a5; color: #7f1d1d; padding: .6rem .9rem; border-radius: 8px; margin-bottom: 1rem; }
.flash { background: #dbeafe; border: 1px solid #93c5fd; padding: .6rem .9rem; border-radius: 8px; }
.confirm { background: #fff7ed; border: 1px solid #fdba74; padding: .8rem 1rem; border-radius: 8px; }
.empty { color: var(--muted); }
dl.terms { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; margin: 0; }
dl.terms dt { color: var(--muted); }
dl.terms dd { margin: 0; }
ol.timeline { list-style: none; padding: 0; border-left: 3px solid var(--line); margin-left: .5rem; }
ol.timeline li { padding: .25rem 0 .6rem 1rem; position: relative; }
ol.timeline time { display: block; font-size: .8rem; color: var(--muted); }
.chart { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .6rem; }
.chart svg { width: 100%; height: auto; display: block; }
.chart .bar { fill: var(--accent); }
.chart .axis { stroke: #8b93a1; stroke-width: 1; }
.chart text { font-size: 11px; fill: var(--muted); }
.pager { margin-top: .8rem; }
.login { max-width: 420px; margin: 4rem auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1.2rem 1.4rem; }
.login input { width: 100%; }
.switch select { min-width: 8rem; }
@media (max-width: 640px) { .session { margin-left: 0; } main { padding: .8rem; } dl.terms { grid-template-columns: 1fr; } }
`;
