/**
 * Interface index → name, from the per-namespace files /proc/<pid>/net/igmp6 and igmp.
 * Both list, for each interface with a multicast membership, its index and its name: every
 * IPv6-enabled interface (ff02::1 is joined even while down) and every IPv4 interface that is
 * up. Unlike /sys/class/net, which shows the namespace sysfs was mounted in, they show the
 * namespace of the process whose /proc directory is read. Pure and total.
 *
 *   igmp6:  `4    eth0            ff020000000000000000000000000001     1 0000000C 0`
 *   igmp:   `4\teth0      :     1      V3` (group rows below it start with a tab)
 */
import { safeDecimal } from './decimal.js';

/** Interface names hold neither whitespace nor `:` (the kernel's dev_valid_name). */
const IGMP6_ROW_RE = /^(\d+)\s+([^\s:]+)\s/;
const IGMP_DEVICE_ROW_RE = /^(\d+)\t([^\s:]+)\s*:/;

function collect(text: string, row: RegExp, into: Map<number, string>): Map<number, string> {
  for (const line of text.split('\n')) {
    const m = row.exec(line);
    const index = safeDecimal(m?.[1]);
    if (m?.[2] === undefined || index === null || index === 0) continue;
    into.set(index, m[2]);
  }
  return into;
}

/** Adds the interfaces named in /proc/<pid>/net/igmp6 text to `into`. */
export function parseIgmp6Interfaces(text: string, into = new Map<number, string>()): Map<number, string> {
  return collect(text, IGMP6_ROW_RE, into);
}

/** Adds the interfaces named in /proc/<pid>/net/igmp text to `into`. */
export function parseIgmpInterfaces(text: string, into = new Map<number, string>()): Map<number, string> {
  return collect(text, IGMP_DEVICE_ROW_RE, into);
}
