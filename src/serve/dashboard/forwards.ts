/**
 * The page's forwards (`portwatch forward --serve`), as a piece of the page's script (plain
 * ES2020, spliced into client.ts's function scope, after the feed). The event stream starts
 * with `forwards` (every forward now) and then says `forward`, `forward-update`,
 * `unforward` and `forward-error` (src/serve/forwards.ts). Each TCP row of a forwarded
 * target port shows where it is reachable on this host — a link when the probe through the
 * forward found HTTP(S), the address otherwise — and, when the host port differs, a
 * "moved from 5173" mark (its title says why). A plain serve sends none of these: the page
 * is as before.
 *
 * Uses the page's `rows`, `el`, `appendHttp`, `fillRow`, `feedList` and `clock`.
 */
export const FORWARDS_JS = String.raw`
  var forwards = new Map(); // target port -> ForwardView

  function hostPort(a) { return (a.address.indexOf(':') >= 0 ? '[' + a.address + ']' : a.address) + ':' + a.port; }
  function forwardOf(v) { return v.protocol === 'tcp' ? forwards.get(v.port) || null : null; }
  function forwardText(v) { var f = forwardOf(v); return f ? f.local.map(hostPort).join(' ') + (f.label ? ' ' + f.label : '') : ''; }

  // What a forwarded row shows in its last cell: the host address (a link for HTTP), the moved mark.
  function forwardMark(f) {
    var box = el('span', 'forward');
    var first = f.local[0];
    var all = f.local.map(hostPort).join(', ');
    var where = first ? hostPort(first) : '?';
    var target;
    if (f.http && /^https?:\/\//.test(f.url)) {
      target = el('a', 'forward-link', where);
      target.href = f.url;
      target.target = '_blank';
      target.rel = 'noopener noreferrer';
    } else {
      target = el('code', 'forward-addr', where);
    }
    target.title = 'port ' + f.remote.port + ' of the target is forwarded to ' + all + ' on this host';
    box.appendChild(el('span', 'forward-arrow', '→ '));
    box.appendChild(target);
    if (f.moved) {
      var m = el('span', 'badge moved', (f.exact ? 'mapped from ' : 'moved from ') + f.remote.port);
      m.title = f.movedReason || '';
      box.appendChild(m);
    }
    appendHttp(box, f.http, f.title);
    return box;
  }

  function markForward(entry) {
    var f = forwardOf(entry.view);
    if (f) {
      entry.tr.dataset.forward = hostPort(f.local[0] || { address: '?', port: 0 });
      entry.tr.querySelector('.col-open').appendChild(forwardMark(f));
    } else delete entry.tr.dataset.forward;
  }

  function refreshPort(port) {
    rows.forEach(function (e) { if (e.view.port === port && !e.closing) fillRow(e); });
  }

  function forwardLine(cls, sign, text) {
    var li = el('li', cls);
    li.dataset.type = cls;
    li.appendChild(el('span', 't', clock(new Date().toISOString())));
    li.appendChild(el('span', sign === '⚠ ' ? 'sign-close' : 'sign-forward', sign));
    li.appendChild(el('span', null, text));
    feedList.note(li);
  }

  function onForwards(msg) {
    var list = JSON.parse(msg.data);
    var before = Array.from(forwards.keys());
    forwards.clear();
    list.forEach(function (f) { forwards.set(f.remote.port, f); });
    document.body.dataset.forwarding = 'true';
    var head = document.querySelector('th.col-open');
    if (head) head.textContent = 'On this host';
    before.concat(Array.from(forwards.keys())).forEach(refreshPort);
  }

  function onForward(msg, live) {
    var f = JSON.parse(msg.data);
    forwards.set(f.remote.port, f);
    refreshPort(f.remote.port);
    if (!live) return;
    var why = f.movedReason ? ' (' + f.movedReason + ')' : '';
    forwardLine('forward', '⇄ ', ':' + f.remote.port + ' forwarded to ' + hostPort(f.local[0] || { address: '?', port: 0 }) + why);
  }

  function onUnforward(msg) {
    var e = JSON.parse(msg.data);
    var f = forwards.get(e.remote.port);
    if (!f || (f.local[0] && e.local[0] && f.local[0].port !== e.local[0].port)) return;
    forwards.delete(e.remote.port);
    refreshPort(e.remote.port);
    forwardLine('unforward', '⇄ ', ':' + e.remote.port + ' no longer forwarded (' + e.reason + ')');
  }

  function onForwardError(msg) {
    forwardLine('forward-error', '⚠ ', JSON.parse(msg.data).message);
  }

  function listenForwards(source) {
    source.addEventListener('forwards', onForwards);
    source.addEventListener('forward', function (m) { onForward(m, true); });
    source.addEventListener('forward-update', function (m) { onForward(m, false); });
    source.addEventListener('unforward', onUnforward);
    source.addEventListener('forward-error', onForwardError);
  }
`;
