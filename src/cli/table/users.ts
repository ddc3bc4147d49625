/**
 * User names for the USER column: a socket's uid looked up in /etc/passwd, read once (at
 * most 4 MiB) and only when a name is first needed. Users that only NSS knows (LDAP, sssd)
 * and uids with no entry are shown as the number, as `ps` does.
 */
import { readBounded } from '../../owners/read-bounded.js';

export const PASSWD_PATH = '/etc/passwd';
export const PASSWD_MAX_BYTES = 4 * 1024 * 1024;

/**
 * uid → name from passwd(5) text. Pure, never throws. The first entry of a uid wins (as
 * getpwuid answers); comments, NIS `+`/`-` lines and malformed lines are skipped.
 */
export function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const fields = line.split(':');
    const name = fields[0] ?? '';
    const uidText = fields[2] ?? '';
    if (name === '' || fields.length < 4 || !/^\d{1,10}$/.test(uidText)) continue;
    const uid = Number(uidText);
    if (uid > 0xffffffff || names.has(uid)) continue;
    names.set(uid, name);
  }
  return names;
}

/** /etc/passwd's whole lines (a last line cut by the bound is left out), or null when unreadable. */
export function readPasswd(path = PASSWD_PATH, max = PASSWD_MAX_BYTES): string | null {
  const bytes = readBounded(path, max);
  if (bytes === null) return null;
  const whole = bytes.length >= max ? bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1) : bytes;
  return whole.toString('utf8');
}

/** A uid → name function that reads the file on first use and remembers it. */
export function userNames(read: () => string | null = () => readPasswd()): (uid: number) => string {
  let names: Map<number, string> | null = null;
  return (uid) => {
    names ??= parsePasswd(read() ?? '');
    return names.get(uid) ?? String(uid);
  };
}
