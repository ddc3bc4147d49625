/**
 * The live page's script, served as /assets/app.js (same origin only; the page's CSP allows
 * no other script). Plain ES2020 and DOM, no framework. It opens one event stream
 * (`/api/events?snapshot=1`): a `snapshot` message (sent on every connect and reconnect)
 * replaces the table, then each PortEvent adds or closes a row and each `update` (an HTTP
 * probe's result) refreshes one; a `silent` event changes the table but not the feed. New
 * rows flash; closed rows fade, then go. Text other processes chose (command lines, names,
 * titles) is shown with control and bidi characters escaped, as the CLI shows it. A burst
 * of events from one process is one feed line (feed.ts); while the stream is down, the
 * table is greyed out and marked stale until the next snapshot. Every TCP listener serve can
 * reach gets an "open" link (through /open/PORT), whether or not the probe found HTTP:
 * the snapshot's `open` says which network namespace that is (null: none, e.g. --no-proxy).
 * Under `forward --serve`, forwarded rows also say where they are reachable here (forwards.ts).
 */
import { UNSAFE_CHAR_CLASS } from '../../text/escape.js';
import { FEED_JS } from './feed.js';
import { FORWARDS_JS } from './forwards.js';

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

  function keyOf(l) { return (l.netns || '-') + '|' + l.protocol + '|' + l.address + '|' + l.port + '|' + l.inode; }
  function compare(a, b) {
    if (a.protocol !== b.protocol) return a.protocol < b.protocol ? -1 : 1;
    if (a.port !== b.port) return a.port - b.port;
    if (a.family !== b.family) return a.family - b.family;
    if (a.address !== b.address) return a.address < b.address ? -1 : 1;
    return a.inode - b.inode;
  }
  function endpoint(l) { return l.family === 6 ? '[' + l.address + ']:' + l.port : l.address + ':' + l.port; }
  function proto(l) { return l.family === 6 ? l.protocol + '6' : l.protocol; }
  function pad(n, w) { n = String(n); while (n.length < (w || 2)) n = '0' + n; return n; }
  function clock(iso) { var d = new Date(iso); return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); }
  function ago(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 5) return 'just now';
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }
  var UNSAFE = new RegExp(${JSON.stringify(UNSAFE_CHAR_CLASS)}, 'g');
  var NAMED = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };
  // The same escapes as src/text/escape.ts: a bidi override would otherwise reorder the text shown.
  function visible(text) {
    return String(text).replace(UNSAFE, function (c) {
      var n = c.charCodeAt(0);
      return NAMED[c] || (n < 256 ? '\\x' + ('0' + n.toString(16)).slice(-2) : '\\u' + ('000' + n.toString(16)).slice(-4));
    });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = visible(text);
    return e;
  }
  // As the proxy decides (proxy-target.ts): TCP, serve's namespace, not link-local (no zone to dial).
  function canOpen(v) {
    return !!reach && v.protocol === 'tcp' && !/^fe[89ab]/i.test(v.address) && (reach.netns === null || !v.netns || v.netns === reach.netns);
  }
  // What the probe found: the scheme as a badge, then the page's <title> (also as its tooltip).
  function appendHttp(parent, http, title) {
    if (http) parent.appendChild(el('span', 'badge', http));
    if (title) {
      var t = el('span', 'page-title', title);
      t.title = visible(title);
      parent.appendChild(t);
    }
  }
  function sinceText(v) { return v.seenAtStart ? 'before ' + clock(v.since) : ago(v.since); }
  function searchText(v) {
    var p = v.process || {};
    return [proto(v), endpoint(v), p.name, p.pid, p.command, v.label, v.http, v.title].join(' ').toLowerCase();
  }

  function fillRow(entry) {
    var v = entry.view;
    var tr = entry.tr;
    tr.textContent = '';
    tr.dataset.key = keyOf(v);
    tr.dataset.port = String(v.port);
    tr.dataset.protocol = v.protocol;
    tr.appendChild(el('td', 'col-proto', proto(v)));
    var ep = el('td', 'col-endpoint');
    ep.appendChild(el('code', null, endpoint(v)));
    tr.appendChild(ep);
    var pr = el('td', 'col-process', v.process ? v.process.name : '—');
    if (v.process) pr.appendChild(el('span', 'pid-inline', ' · pid ' + v.process.pid));
    if (v.label) pr.appendChild(el('span', 'badge label', v.label));
    if (v.process && v.process.command) pr.appendChild(el('span', 'sub mono', v.process.command));
    tr.appendChild(pr);
    tr.appendChild(el('td', 'col-pid', v.process ? v.process.pid : '—'));
    var cmd = el('td', 'col-command mono', v.process ? v.process.command : '');
    if (v.process) cmd.title = visible(v.process.command);
    tr.appendChild(cmd);
    var since = el('td', 'col-since', sinceText(v));
    since.title = (v.seenAtStart ? 'listening when portwatch started, ' : 'opened ') + new Date(v.since).toLocaleString();
    tr.appendChild(since);
    var op = el('td', 'col-open');
    if (canOpen(v)) {
      var a = el('a', 'open', 'open');
      a.href = '/open/' + v.port;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.title = 'open port ' + v.port + ' through the portwatch proxy';
      op.appendChild(a);
      appendHttp(op, v.http, v.title);
    }
    tr.appendChild(op);
    markForward(entry);
    entry.text = searchText(v) + ' ' + forwardText(v).toLowerCase();
    applyFilter(entry);
  }

  function applyFilter(entry) { entry.tr.hidden = query !== '' && entry.text.indexOf(query) < 0; }

  function refreshCount() {
    var tcp = 0, udp = 0, shown = 0;
    rows.forEach(function (e) {
      if (e.closing) return;
      if (e.view.protocol === 'tcp') tcp++; else udp++;
      if (!e.tr.hidden) shown++;
    });
    var total = tcp + udp;
    countEl.textContent = total + ' listening (' + tcp + ' tcp, ' + udp + ' udp)' + (query ? ' · ' + shown + ' shown' : '');
    emptyEl.hidden = total > 0;
  }

  function insertSorted(entry) {
    var next = null;
    rows.forEach(function (e) { if (e !== entry && compare(e.view, entry.view) > 0 && (!next || compare(e.view, next.view) < 0)) next = e; });
    tbody.insertBefore(entry.tr, next ? next.tr : null);
  }

  function addOpen(view, highlight) {
    var key = keyOf(view);
    var old = rows.get(key);
    if (old) {
      if (!old.closing) { old.view = view; fillRow(old); return; }
      clearTimeout(old.timer);
      old.tr.remove();
    }
    var entry = { view: view, tr: document.createElement('tr'), closing: false, timer: null, text: '' };
    entry.tr.dataset.state = 'open';
    rows.set(key, entry);
    fillRow(entry);
    insertSorted(entry);
    if (highlight) {
      entry.tr.classList.add('is-new');
      entry.tr.addEventListener('animationend', function () { entry.tr.classList.remove('is-new'); }, { once: true });
    }
  }

  function markClosed(key) {
    var entry = rows.get(key);
    if (!entry || entry.closing) return;
    entry.closing = true;
    entry.tr.dataset.state = 'closed';
    entry.tr.classList.remove('is-new');
    entry.tr.classList.add('is-closed');
    entry.timer = setTimeout(function () {
      if (rows.get(key) === entry) rows.delete(key);
      entry.tr.remove();
    }, CLOSED_LINGER_MS);
  }

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
