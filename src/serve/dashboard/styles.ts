/** The live page's stylesheet: light and dark, readable on a phone, no framework. */
export const DASHBOARD_CSS = String.raw`
:root {
  --bg: #fbfbfa; --fg: #1d1f21; --muted: #6b6f76; --line: #e4e4e2; --head: #f1f1ef;
  --accent: #1f6feb; --new: #fff3b0; --open: #1a7f37; --close: #cf222e; --badge: #eef1f5; --stale: #fdecea;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1115; --fg: #e6e6e6; --muted: #8b929c; --line: #262a31; --head: #171a20;
    --accent: #58a6ff; --new: #3d3510; --open: #3fb950; --close: #f85149; --badge: #222833; --stale: #3b1d1d; }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--fg); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.95em; }
header { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1rem;
  padding: 0.6rem 1rem; background: var(--head); border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.1rem; margin: 0; font-weight: 650; }
header h1 .host { color: var(--muted); font-weight: 400; }
.status { font-size: 0.85rem; color: var(--muted); }
.status::before { content: ""; display: inline-block; width: 0.6em; height: 0.6em; margin-right: 0.35em; border-radius: 50%; background: var(--muted); }
.status[data-state="live"]::before { background: var(--open); }
.status[data-state="offline"]::before { background: var(--close); }
.count { font-size: 0.85rem; color: var(--muted); }
#filter { margin-left: auto; min-width: 12rem; flex: 0 1 20rem; padding: 0.35rem 0.6rem; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); color: var(--fg); font: inherit; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 22rem; gap: 1rem; padding: 1rem; align-items: start; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
th { font-size: 0.8rem; font-weight: 600; color: var(--muted); background: var(--head); }
tbody tr:last-child td { border-bottom: 0; }
/* The command takes the width left over and is cut with an ellipsis (full text on hover). */
td.col-command { width: 100%; max-width: 0; overflow: hidden; text-overflow: ellipsis; color: var(--muted); }
td.col-pid, td.col-since { color: var(--muted); font-variant-numeric: tabular-nums; }
td.col-open { min-width: 9rem; }
.sub { display: none; color: var(--muted); font-size: 0.85em; white-space: normal; word-break: break-all;
  overflow: hidden; -webkit-box-orient: vertical; -webkit-line-clamp: 2; line-clamp: 2; }
.badge { display: inline-block; margin-left: 0.35em; padding: 0 0.4em; border-radius: 4px; background: var(--badge); color: var(--muted); font-size: 0.8em; }
.page-title { display: block; max-width: 16rem; overflow: hidden; text-overflow: ellipsis; color: var(--muted); font-size: 0.85em; }
a { color: var(--accent); }
a.open { font-weight: 600; text-decoration: none; }
a.open:hover { text-decoration: underline; }
tr.is-new { animation: flash 2.5s ease-out; }
@keyframes flash { from { background: var(--new); } to { background: transparent; } }
tr.is-closed { opacity: 0.35; transition: opacity 0.6s ease-in; }
tr.is-closed td.col-endpoint { text-decoration: line-through; }
.empty { margin: 0; padding: 1rem; color: var(--muted); }
.pid-inline { display: none; color: var(--muted); font-variant-numeric: tabular-nums; }
/* Serve unreachable: what is shown is what was true when the stream dropped. */
.stale-note { margin: 0; padding: 0.55rem 0.75rem; border-bottom: 1px dashed var(--close); background: var(--stale);
  color: var(--fg); font-weight: 600; }
.stale-note::before { content: "⚠ "; color: var(--close); }
.table-wrap[data-stale="true"] { border: 2px dashed var(--close); }
.table-wrap[data-stale="true"] table { opacity: 0.4; filter: grayscale(1); }
.table-wrap[data-stale="true"] tr.is-new { animation: none; }
.feed-wrap { border: 1px solid var(--line); border-radius: 8px; padding: 0 0.75rem 0.5rem; }
.feed-wrap h2 { font-size: 0.9rem; margin: 0.6rem 0; color: var(--muted); font-weight: 600; }
.feed { list-style: none; margin: 0; padding: 0; max-height: 70vh; overflow-y: auto; }
.feed:empty::after { content: "No events yet."; color: var(--muted); font-size: 0.85rem; }
.feed li { padding: 0.2rem 0; border-bottom: 1px dashed var(--line); font-size: 0.85rem; }
.feed li:last-child { border-bottom: 0; }
.feed .t { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: 0.4em; }
.feed .sign-open { color: var(--open); font-weight: 700; }
.feed .sign-close { color: var(--close); font-weight: 700; }
.feed li.burst code { overflow-wrap: anywhere; }
/* forward --serve: where a target port is reachable on this host, and a port that moved. */
.forward { display: inline-block; white-space: nowrap; }
.forward-arrow { color: var(--muted); }
a.forward-link { font-weight: 600; text-decoration: none; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
a.forward-link:hover { text-decoration: underline; }
.badge.moved { background: var(--new); color: var(--fg); font-weight: 600; }
.feed .sign-forward { color: var(--accent); font-weight: 700; }
@media (max-width: 900px) {
  main { grid-template-columns: minmax(0, 1fr); }
}
/* A phone: each listener is a card; the "open" action sits on its first line, in reach. */
@media (max-width: 640px) {
  header { padding: 0.5rem; }
  #filter { flex: 1 1 100%; margin-left: 0; }
  main { padding: 0.5rem; gap: 0.5rem; }
  #listeners, #listeners tbody { display: block; }
  #listeners thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  #listeners tr { display: grid; grid-template-columns: auto minmax(0, 1fr) auto auto; align-items: baseline;
    grid-template-areas: "proto endpoint badge open" "process process process since" "title title title title";
    column-gap: 0.5rem; padding: 0.55rem 0.7rem; border-bottom: 1px solid var(--line); }
  #listeners tr:last-child { border-bottom: 0; }
  #listeners td { display: block; padding: 0; border: 0; white-space: normal; min-width: 0; }
  #listeners td.col-proto { grid-area: proto; color: var(--muted); font-size: 0.85em; }
  #listeners td.col-endpoint { grid-area: endpoint; overflow-wrap: anywhere; font-weight: 600; }
  #listeners td.col-process { grid-area: process; margin-top: 0.2rem; }
  #listeners td.col-since { grid-area: since; justify-self: end; font-size: 0.85em; white-space: nowrap; }
  #listeners td.col-pid, #listeners td.col-command { display: none; }
  #listeners td.col-open { display: contents; }
  #listeners td.col-open .badge { grid-area: badge; align-self: center; margin: 0; }
  #listeners td.col-open a.open { grid-area: open; align-self: center; justify-self: end; display: inline-block; padding: 0.3rem 0.9rem; border-radius: 999px;
    background: var(--accent); color: #fff; text-decoration: none; }
  #listeners td.col-open .page-title { grid-area: title; max-width: none; margin-top: 0.15rem; white-space: nowrap; }
  #listeners td.col-open .forward { grid-column: 1 / -1; margin-top: 0.2rem; white-space: normal; }
  #listeners td.col-open .forward .badge, #listeners td.col-open .forward .page-title { grid-area: auto; display: inline-block; margin-left: 0.35em; }
  .pid-inline { display: inline; }
  .sub { display: -webkit-box; }
}
`;
