/**
 * The page's event feed, as a piece of the page's script (plain ES2020, spliced into
 * client.ts's function scope). Newest first, at most `max` lines. A burst (events of one
 * type from one process, the first and the last at most `windowMs` apart, nothing else in
 * between) is one line that grows — "+ 100 ports opened by node (pid 42): 3000–3099" —
 * instead of a hundred identical ones.
 *
 * `createFeed(list, h)`: `list` is the <ol>; `h` gives the page's helpers { el, clock,
 * proto, endpoint, max, windowMs }. Returns { push(event), note(li), clear() }: note() puts a
 * line of the caller's own (a forward, forwards.ts) on top, and ends any burst.
 */
export const FEED_JS = String.raw`
  var BURST_RANGES_SHOWN = 8;
  var BURST_TITLE_MAX = 50;
  var BURST_MAX = 1000; // a longer burst starts a new line, so each event costs a bounded re-render

  // [3000, 3001, 3002, 3005] -> "3000–3002, 3005"; at most BURST_RANGES_SHOWN ranges, then "… (+n more)".
  function portRanges(ports) {
    var sorted = Array.from(new Set(ports)).sort(function (a, b) { return a - b; });
    var ranges = [];
    for (var i = 0; i < sorted.length; i++) {
      var last = ranges[ranges.length - 1];
      if (last && sorted[i] === last[1] + 1) last[1] = sorted[i];
      else ranges.push([sorted[i], sorted[i]]);
    }
    var shown = ranges.slice(0, BURST_RANGES_SHOWN).map(function (r) { return r[0] === r[1] ? String(r[0]) : r[0] + '–' + r[1]; });
    var hidden = 0;
    ranges.slice(BURST_RANGES_SHOWN).forEach(function (r) { hidden += r[1] - r[0] + 1; });
    return shown.join(', ') + (hidden > 0 ? ' … (+' + hidden + ' more)' : '');
  }

  function createFeed(list, h) {
    var top = null; // the newest line: { key, firstMs, events, li }

    function burstKey(e) {
      var p = e.listener.process;
      return p ? e.type + '|' + p.pid + '|' + p.name : null;
    }

    function timeCell(e) {
      var t = h.el('span', 't', h.clock(e.time));
      t.title = new Date(e.time).toLocaleString();
      return t;
    }

    function sign(type) { return h.el('span', type === 'open' ? 'sign-open' : 'sign-close', type === 'open' ? '+ ' : '− '); }

    function single(e) {
      var l = e.listener;
      var li = h.el('li');
      li.dataset.type = e.type;
      li.dataset.port = String(l.port);
      li.dataset.ports = String(l.port);
      li.appendChild(timeCell(e));
      li.appendChild(sign(e.type));
      li.appendChild(h.el('span', null, h.proto(l) + ' '));
      li.appendChild(h.el('code', null, h.endpoint(l)));
      if (l.process) li.appendChild(h.el('span', null, ' ' + l.process.name + ' (' + l.process.pid + ')'));
      return li;
    }

    function burst(events) {
      var first = events[0];
      var p = first.listener.process;
      var ports = events.map(function (e) { return e.listener.port; });
      var distinct = new Set(ports).size;
      var protos = new Set(events.map(function (e) { return e.listener.protocol; }));
      var li = h.el('li', 'burst');
      li.dataset.type = first.type;
      li.dataset.count = String(events.length);
      li.dataset.ports = ports.join(' ');
      li.appendChild(timeCell(first));
      li.appendChild(sign(first.type));
      var what = distinct + (protos.size === 1 ? ' ' + first.listener.protocol : '') + (distinct === 1 ? ' port' : ' ports');
      if (events.length > distinct) what += ' (' + events.length + ' sockets)';
      li.appendChild(h.el('span', null, what + (first.type === 'open' ? ' opened by ' : ' closed by ') + p.name + ' (pid ' + p.pid + '): '));
      li.appendChild(h.el('code', null, portRanges(ports)));
      var listed = events.slice(0, BURST_TITLE_MAX).map(function (e) { return h.proto(e.listener) + ' ' + h.endpoint(e.listener); });
      li.title = listed.join('\n') + (events.length > BURST_TITLE_MAX ? '\n…' : '');
      return li;
    }

    function push(e) {
      var key = burstKey(e);
      var ms = Date.parse(e.time);
      if (top && key !== null && top.key === key && top.events.length < BURST_MAX && ms >= top.firstMs && ms - top.firstMs <= h.windowMs) {
        top.events.push(e);
        var li = burst(top.events);
        list.replaceChild(li, top.li);
        top.li = li;
        return;
      }
      top = { key: key, firstMs: ms, events: [e], li: single(e) };
      list.insertBefore(top.li, list.firstChild);
      while (list.children.length > h.max) list.removeChild(list.lastChild);
    }

    function note(li) {
      top = null;
      list.insertBefore(li, list.firstChild);
      while (list.children.length > h.max) list.removeChild(list.lastChild);
    }

    function clear() {
      list.textContent = '';
      top = null;
    }

    return { push: push, note: note, clear: clear };
  }
`;
