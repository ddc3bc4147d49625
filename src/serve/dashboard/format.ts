/**
 * The page's helpers for writing a listener and a time, as a piece of the page's script
 * (plain ES2020, spliced into client.ts's function scope, first): a listener's key and
 * order, its endpoint and protocol, a clock time and an age, and el(), which makes an
 * element whose text — command lines, names, titles other processes chose — is shown with
 * control and bidi characters escaped, as the CLI shows it (src/text/escape.ts).
 */
import { UNSAFE_CHAR_CLASS } from '../../text/escape.js';

export const FORMAT_JS = String.raw`
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
`;
