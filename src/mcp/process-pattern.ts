/**
 * The one place the `process` argument of list_listening_ports is compiled into a matcher
 * (tested against a process's name and its command line).
 */
import { compilePattern } from '../rules/pattern.js';

export interface ProcessPattern {
  test(text: string): boolean;
}

/** Linear-time matching (RE2 syntax): an agent's pattern must not block the event loop. */
export function regexOf(text: string): ProcessPattern {
  return compilePattern(text);
}
