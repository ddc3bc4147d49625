/**
 * The page's table of listeners, as a piece of the page's script (plain ES2020, spliced into
 * client.ts's function scope, after format.ts): one row per listener, kept in order; new
 * rows flash, closed rows fade, then go. Every TCP listener serve can reach gets an "open"
 * link (through /open/PORT), whether or not the probe found HTTP (then its scheme and
 * <title> follow). The filter hides rows; the count says what is listening and shown.
 *
 * Uses the page's `rows`, `query`, `reach`, `tbody`, `countEl`, `emptyEl`,
 * `CLOSED_LINGER_MS`, format.ts's helpers and forwards.ts's `markForward` and `forwardText`.
 */
export const TABLE_JS = String.raw`
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
`;
