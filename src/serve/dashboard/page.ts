/** The live page's HTML shell; the script fills it from the event stream. */

const ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='6' fill='%231a7f37'/%3E%3C/svg%3E";

export function dashboardHtml(cssVersion: string, jsVersion: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>portwatch</title>
<link rel="icon" href="${ICON}">
<link rel="stylesheet" href="/assets/app.css?v=${cssVersion}">
<script src="/assets/app.js?v=${jsVersion}" defer></script>
</head>
<body>
<header>
  <h1>portwatch <span class="host" id="host"></span></h1>
  <span id="status" class="status" data-state="connecting" role="status">connecting…</span>
  <span id="count" class="count"></span>
  <input id="filter" type="search" placeholder="Filter — port, process, command…  ( / )" aria-label="Filter listeners" autocomplete="off" spellcheck="false">
</header>
<main>
  <section class="table-wrap" id="table-wrap" aria-label="Listening ports" data-stale="false">
    <p id="stale" class="stale-note" role="alert" hidden></p>
    <table id="listeners">
      <thead><tr>
        <th class="col-proto">Proto</th><th class="col-endpoint">Address:port</th><th class="col-process">Process</th>
        <th class="col-pid">PID</th><th class="col-command">Command</th><th class="col-since">Since</th><th class="col-open">HTTP</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p id="empty" class="empty" hidden>No listening ports.</p>
  </section>
  <section class="feed-wrap" aria-label="Recent events">
    <h2>Recent events</h2>
    <ol id="events" class="feed"></ol>
  </section>
</main>
</body>
</html>
`;
}
