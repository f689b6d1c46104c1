/** The dashboard's stylesheet, served at /static/style.css (no inline styles: the CSP forbids them). */
export const STYLESHEET = `
:root {
  color-scheme: dark;
  --bg: #0f1216;
  --panel: #161b22;
  --panel-2: #1c222b;
  --border: #2a313c;
  --text: #e6edf3;
  --muted: #8b949e;
  --link: #79c0ff;
  --ok: #3fb950;
  --run: #58a6ff;
  --warn: #d29922;
  --bad: #f85149;
  --add-bg: rgba(46, 160, 67, 0.15);
  --add: #7ee787;
  --del-bg: rgba(248, 81, 73, 0.15);
  --del: #ffa198;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
* { box-sizing: border-box; }
html { background: var(--bg); }
body {
  margin: 0;
  color: var(--text);
  background: var(--bg);
  font: 14px/1.5 var(--sans);
}
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
header.top {
  display: flex;
  align-items: baseline;
  gap: 18px;
  padding: 12px 24px;
  border-bottom: 1px solid var(--border);
  background: var(--panel);
  position: sticky;
  top: 0;
  z-index: 1;
}
header.top .brand { font-weight: 700; font-size: 16px; color: var(--text); letter-spacing: 0.02em; }
header.top .project { color: var(--muted); font-family: var(--mono); font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
header.top nav { margin-left: auto; display: flex; gap: 14px; }
main { padding: 20px 24px 40px; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 20px; margin: 0 0 4px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h2 { font-size: 15px; margin: 28px 0 10px; color: var(--text); display: flex; align-items: baseline; gap: 10px; }
h2 .count { color: var(--muted); font-weight: 400; font-size: 13px; }
h3 { font-size: 14px; margin: 0; }
.sub { color: var(--muted); margin: 0 0 8px; }
.title-row { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; margin-bottom: 4px; }
.title-row h1 { margin: 0; }
.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; }
.empty { color: var(--muted); padding: 14px 16px; }
table { width: 100%; border-collapse: collapse; }
.panel > table, .panel > .scroll > table { border-radius: 8px; }
.scroll { overflow-x: auto; }
th, td { padding: 7px 12px; text-align: left; vertical-align: top; border-bottom: 1px solid var(--border); }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; background: var(--panel-2); white-space: nowrap; }
tr:last-child td { border-bottom: none; }
tbody tr:hover { background: rgba(255, 255, 255, 0.02); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
td.msg { color: var(--muted); max-width: 420px; overflow-wrap: anywhere; }
.badge {
  display: inline-block;
  padding: 1px 8px;
  border-radius: 999px;
  font-size: 12px;
  font-weight: 600;
  border: 1px solid currentColor;
  white-space: nowrap;
  line-height: 18px;
}
.badge.ok { color: var(--ok); }
.badge.run { color: var(--run); }
.badge.warn { color: var(--warn); }
.badge.bad { color: var(--bad); }
.badge.muted { color: var(--muted); }
.badge.run::before { content: ""; display: inline-block; width: 7px; height: 7px; border-radius: 50%; background: currentColor; margin-right: 6px; vertical-align: 1px; animation: pulse 1.6s ease-in-out infinite; }
@keyframes pulse { 50% { opacity: 0.3; } }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }
.card { padding: 14px 16px; }
.card .head { display: flex; align-items: center; gap: 10px; margin-bottom: 10px; }
.card .head .name { font-weight: 700; font-size: 15px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.card .head .spacer { flex: 1; }
.card dl { display: grid; grid-template-columns: 110px 1fr; gap: 4px 10px; margin: 0; }
.card dt { color: var(--muted); }
.card dd { margin: 0; overflow-wrap: anywhere; }
.card .foot { display: flex; gap: 10px; align-items: center; margin-top: 12px; }
progress { display: block; width: 100%; height: 6px; margin-top: 5px; border: none; border-radius: 3px; background: var(--panel-2); accent-color: var(--ok); appearance: none; }
progress::-webkit-progress-bar { background: var(--panel-2); border-radius: 3px; }
progress::-webkit-progress-value { background: var(--ok); border-radius: 3px; }
progress::-moz-progress-bar { background: var(--ok); border-radius: 3px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 26px; padding: 12px 16px; }
.facts div { display: flex; flex-direction: column; }
.facts span.k { color: var(--muted); font-size: 12px; }
.facts span.v { font-variant-numeric: tabular-nums; }
button, .button {
  font: inherit;
  font-weight: 600;
  padding: 4px 12px;
  border-radius: 6px;
  border: 1px solid var(--border);
  background: var(--panel-2);
  color: var(--text);
  cursor: pointer;
}
button.danger { border-color: rgba(248, 81, 73, 0.6); color: var(--bad); }
button.danger:hover { background: rgba(248, 81, 73, 0.12); }
button:disabled { opacity: 0.6; cursor: progress; }
form.inline { display: inline; margin: 0; }
.note { color: var(--muted); font-size: 12px; }
.nowrap { white-space: nowrap; }
.feed-state { display: flex; justify-content: flex-end; padding: 6px 12px; border-bottom: 1px solid var(--border); }
.error-text { color: var(--bad); }
.notice { padding: 10px 14px; margin: 0 0 14px; border-left: 3px solid var(--warn); background: var(--panel); border-radius: 4px; }
pre.log, pre.text {
  margin: 0;
  padding: 12px 14px;
  overflow: auto;
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  line-height: 1.45;
}
pre.log { max-height: 480px; }
pre.text { max-height: 360px; }
.log .l-cmd { color: #d2a8ff; }
.log .l-exit0 { color: var(--ok); }
.log .l-exit { color: var(--bad); }
.log .l-agent { color: var(--text); }
.log .l-think { color: var(--muted); font-style: italic; }
.log .l-file { color: var(--warn); }
.log .l-err { color: var(--bad); }
.log .l-turn { color: var(--run); }
.log .l-out { color: var(--muted); }
.loghead { display: flex; align-items: center; gap: 10px; padding: 8px 14px; border-bottom: 1px solid var(--border); background: var(--panel-2); border-radius: 8px 8px 0 0; }
.loghead .spacer { flex: 1; }
.live { color: var(--run); font-size: 12px; font-weight: 600; }
.live::before { content: "●"; margin-right: 4px; animation: pulse 1.6s ease-in-out infinite; }
.ticket { margin-bottom: 14px; }
.ticket > .head { display: flex; align-items: center; gap: 10px; padding: 10px 14px; border-bottom: 1px solid var(--border); flex-wrap: wrap; }
.ticket > .body { padding: 10px 14px; display: grid; gap: 10px; }
details > summary { cursor: pointer; color: var(--link); user-select: none; }
details[open] > summary { margin-bottom: 6px; }
.diff { border: 1px solid var(--border); border-radius: 6px; overflow: auto; max-height: 560px; }
.diff pre { margin: 0; padding: 6px 0; min-width: max-content; }
.diff .d { display: block; padding: 0 12px; white-space: pre; }
.diff .d-add { background: var(--add-bg); color: var(--add); }
.diff .d-del { background: var(--del-bg); color: var(--del); }
.diff .d-hunk { color: var(--run); background: rgba(56, 139, 253, 0.1); }
.diff .d-file { color: var(--text); font-weight: 700; background: var(--panel-2); border-top: 1px solid var(--border); margin-top: 4px; }
.diff .d-meta { color: var(--muted); }
.stat-add { color: var(--ok); font-weight: 600; }
.stat-del { color: var(--bad); font-weight: 600; }
.pager { display: flex; gap: 12px; align-items: center; padding: 8px 12px; color: var(--muted); border-top: 1px solid var(--border); font-size: 13px; }
.pager .spacer { flex: 1; }
.done-mark { color: var(--ok); font-weight: 700; }
.todo-mark { color: var(--muted); }
tr.fresh { animation: fresh 2.5s ease-out; }
@keyframes fresh { from { background: rgba(88, 166, 255, 0.18); } to { background: transparent; } }
.grid2 { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; align-items: start; }
@media (max-width: 1000px) { .grid2 { grid-template-columns: minmax(0, 1fr); } }
footer { color: var(--muted); font-size: 12px; padding: 0 24px 20px; text-align: center; }
`;
