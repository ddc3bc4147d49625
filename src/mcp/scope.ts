/**
 * Host mode (`portwatch mcp -A`): one port number can listen in several network namespaces,
 * so tools take an optional scope, `netns` (the namespace's inode, as listeners write it) and
 * `container` (a name, an id, or an id prefix of 4+ hex digits, as `--container` takes it),
 * and their answers say where each listener is. Without -A the arguments are not offered.
 */
import { z } from 'zod';
import { containerMatches } from '../engine/container-identity.js';
import type { Listener } from '../listener.js';
import { escapeControl } from '../text/escape.js';

export interface Scope {
  netns?: string | undefined;
  container?: string | undefined;
}

const NETNS_TEXT = /^\s*\d{1,20}\s*$/;

const scopeShape = () => ({
  netns: z
    .preprocess((v) => (typeof v === 'number' ? String(v) : typeof v === 'string' && NETNS_TEXT.test(v) ? v.trim() : v), z.string())
    .optional()
    .describe('only in this network namespace: its inode, as listeners give it in "netns"'),
  container: z.string().min(1).optional().describe('only in this container: its name, its id, or an id prefix of 4+ hex digits'),
});

/** The scope arguments when every namespace is watched; none otherwise (both are optional either way). */
export function scopeArgs(allNamespaces: boolean): ReturnType<typeof scopeShape> {
  return allNamespaces ? scopeShape() : ({} as ReturnType<typeof scopeShape>);
}

/** Keeps the listeners in the scope (all when it names nothing). */
export function inScope(scope: Scope): (l: Listener) => boolean {
  const { netns, container } = scope;
  return (l) => (netns === undefined || l.netns === netns) && (container === undefined || containerMatches(l.container, container));
}

/** ` in netns N`, ` in container web`, or '' when the scope names nothing. */
export function describeScope(scope: Scope): string {
  const parts: string[] = [];
  if (scope.netns !== undefined) parts.push(`netns ${escapeControl(scope.netns)}`);
  if (scope.container !== undefined) parts.push(`container ${escapeControl(scope.container)}`);
  return parts.length === 0 ? '' : ` in ${parts.join(', ')}`;
}
