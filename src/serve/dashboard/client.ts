/**
 * The live page's script, served as /assets/app.js (same origin only; the page's CSP allows
 * no other script). Plain ES2020 and DOM, no framework, in one function scope spliced from
 * pieces: format.ts (keys, order, times, escaped text), table.ts (the rows), feed.ts (the
 * event feed), forwards.ts (forward --serve). This piece holds the page's state and its one
 * event stream (`/api/events?snapshot=1`): a `snapshot` message (sent on every connect and
 * reconnect) replaces the table, then each PortEvent adds or closes a row and each `update`
 * (an HTTP probe's result) refreshes one; a `silent` event changes the table but not the
 * feed. While the stream is down, the table is greyed out and marked stale until the next
 * snapshot. The snapshot's `open` says in which network namespace /open/PORT reaches a
 * listener (null: none, e.g. --no-proxy). It also wires the filter box and its keys.
 */
import { FEED_JS } from './feed.js';
import { FORMAT_JS } from './format.js';
import { FORWARDS_JS } from './forwards.js';
import { TABLE_JS } from './table.js';

export const DASHBOARD_JS = String.raw`'use strict';
(function () {
  var FEED_MAX = 100;
  var CLOSED_LINGER_MS = 4000;
  var RETRY_MS = 3000;
  var BURST_WINDOW_MS = 2000;
  var tbody = document.querySelector('#listeners tbody');
  var feed = document.getElementById('events');
  var statusEl = document.getElementById('status');
  var countEl = document.getElementById('count');
  var filterEl = document.getElementById('filter');
  var emptyEl = document.getElementById('empty');
  var hostEl = document.getElementById('host');
  var tableWrap = document.getElementById('table-wrap');
  var staleEl = document.getElementById('stale');
  var rows = new Map(); // listener key -> { view, tr, closing }
  var query = '';
  var source = null;
  var retryTimer = null;
  var reach = null; // snapshot.open: { netns } where /open/PORT works, or null
${FORMAT_JS}
${TABLE_JS}
${FEED_JS}
  var feedList = createFeed(feed, { el: el, clock: clock, proto: proto, endpoint: endpoint, max: FEED_MAX, windowMs: BURST_WINDOW_MS });
  function pushFeed(e) { feedList.push(e); }
${FORWARDS_JS}
  // While the stream is down the table is what was true when it dropped: say so, and grey it out.
  function setStale(stale) {
    if (stale === (tableWrap.dataset.stale === 'true')) return;
    tableWrap.dataset.stale = String(stale);
    staleEl.hidden = !stale;
    if (stale) staleEl.textContent = 'Not live since ' + clock(new Date().toISOString()) + ': portwatch serve cannot be reached, so this list may be out of date. Retrying…';
  }

  function onSnapshot(msg) {
    var snap = JSON.parse(msg.data);
    var first = rows.size === 0 && !document.body.dataset.loaded;
    reach = snap.open || null;
    var seen = new Set();
    snap.listeners.forEach(function (v) {
      var key = keyOf(v);
      seen.add(key);
      var e = rows.get(key);
      if (e && !e.closing) { e.view = v; fillRow(e); } else addOpen(v, !first);
    });
    rows.forEach(function (e, key) { if (!seen.has(key)) markClosed(key); });
    feedList.clear();
    snap.events.slice(-FEED_MAX).forEach(pushFeed);
    setStale(false);
    if (snap.hostname) { hostEl.textContent = '· ' + snap.hostname; document.title = 'portwatch · ' + snap.hostname; }
    document.body.dataset.loaded = 'true';
    refreshCount();
  }

  function applyEvent(e) {
    if (e.type === 'open') {
      var v = Object.assign({}, e.listener, { since: e.time, seenAtStart: false, http: null, title: null });
      addOpen(v, true);
    } else {
      markClosed(keyOf(e.listener));
    }
  }

  function onEvent(msg) {
    var e = JSON.parse(msg.data);
    applyEvent(e);
    pushFeed(e);
    refreshCount();
  }

  // A silent listener (a rule says: list it, do not announce it): the table changes, the feed does not.
  function onSilent(msg) {
    applyEvent(JSON.parse(msg.data));
    refreshCount();
  }

  function onUpdate(msg) {
    var v = JSON.parse(msg.data);
    var entry = rows.get(keyOf(v));
    if (!entry || entry.closing) return;
    entry.view = v;
    fillRow(entry);
    refreshCount();
  }

  function setStatus(state, text) { statusEl.dataset.state = state; statusEl.textContent = text; }

  function connect() {
    retryTimer = null;
    setStatus('connecting', 'connecting…');
    source = new EventSource('/api/events?snapshot=1');
    source.addEventListener('snapshot', onSnapshot);
    source.addEventListener('update', onUpdate);
    source.addEventListener('silent', onSilent);
    source.onmessage = onEvent;
    listenForwards(source);
    source.onopen = function () { setStatus('live', 'live'); };
    source.onerror = function () {
      setStale(true);
      if (source.readyState === EventSource.CLOSED) {
        setStatus('offline', 'disconnected — retrying');
        source.close();
        if (!retryTimer) retryTimer = setTimeout(connect, RETRY_MS);
      } else {
        setStatus('connecting', 'reconnecting…');
      }
    };
  }

  filterEl.addEventListener('input', function () {
    query = filterEl.value.trim().toLowerCase();
    rows.forEach(applyFilter);
    refreshCount();
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === '/' && document.activeElement !== filterEl) { ev.preventDefault(); filterEl.focus(); }
    else if (ev.key === 'Escape' && document.activeElement === filterEl) { filterEl.value = ''; filterEl.dispatchEvent(new Event('input')); }
  });
  setInterval(function () {
    rows.forEach(function (e) {
      var cell = e.tr.querySelector('.col-since');
      if (cell) cell.textContent = sinceText(e.view);
    });
  }, 15000);
  refreshCount();
  connect();
})();
`;
