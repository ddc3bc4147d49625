/**
 * Tool arguments as agents actually send them. A model that misnames an argument must hear
 * about it (a dropped `timeout` silently became a 30 s wait), and a value whose meaning is
 * unambiguous (`"8080"`, `"TCP"`, `"true"`) is taken rather than refused.
 *
 * The SDK turns a tool's input schema into JSON Schema for clients and validates calls
 * with it; a strict object becomes `additionalProperties: false` there, and its unknown
 * keys become the error text the calling model reads.
 */
import { z } from 'zod';

const INTEGER_TEXT = /^\s*[+-]?\d{1,15}\s*$/;

/** An integer argument that also takes its decimal text ("8080"). */
export function integerArg(schema: z.ZodNumber) {
  return z.preprocess((v) => (typeof v === 'string' && INTEGER_TEXT.test(v) ? Number(v) : v), schema);
}

/** A choice of lower-case words that also takes other cases and stray spaces ("TCP "). */
export function choiceArg<T extends [string, ...string[]]>(values: T) {
  return z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(values));
}

/** A boolean that also takes "true" / "false". */
export function booleanArg() {
  return z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const t = v.trim().toLowerCase();
    return t === 'true' ? true : t === 'false' ? false : v;
  }, z.boolean());
}

export const portArg = () => integerArg(z.number().int().min(1).max(65535));
export const protocolArg = () => choiceArg(['tcp', 'udp', 'any']);

/** Letters and digits only: `timeoutMs`, `timeout-ms` and `timeout_ms` are the same name. */
function bare(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min((prev[j] as number) + 1, (next[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = next;
  }
  return prev[b.length] as number;
}

/** The accepted name an unknown one most likely meant, or null when none is close. */
export function likelyMeant(unknown: string, accepted: readonly string[]): string | null {
  const u = bare(unknown);
  if (u.length === 0) return null;
  const same = accepted.find((a) => bare(a) === u);
  if (same) return same;
  // `timeout` for `timeout_ms`, `ports` for `port`: one name is the other with a unit or plural added.
  const related = u.length < 3 ? [] : accepted.filter((a) => bare(a).startsWith(u) || u.startsWith(bare(a)));
  if (related.length > 0)
    return related.reduce((best, a) => (Math.abs(a.length - unknown.length) < Math.abs(best.length - unknown.length) ? a : best));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const a of accepted) {
    const d = editDistance(u, bare(a));
    if (d < bestDistance) [best, bestDistance] = [a, d];
  }
  return bestDistance <= Math.max(1, Math.floor(u.length / 3)) ? best : null;
}

/** The error text for unknown argument names: what was wrong, what was meant, what is taken. */
export function unknownArgumentsMessage(tool: string, unknown: readonly string[], accepted: readonly string[]): string {
  const each = unknown.map((name) => {
    const meant = likelyMeant(name, accepted);
    return `'${name}'${meant === null ? '' : ` (did you mean '${meant}'?)`}`;
  });
  return `unknown argument${unknown.length > 1 ? 's' : ''} ${each.join(', ')}; ${tool} takes: ${accepted.join(', ')}`;
}

/** A tool's input schema that refuses names it does not know, saying which were meant. */
export function toolArguments<T extends z.ZodRawShape>(tool: string, shape: T) {
  const accepted = Object.keys(shape);
  return z
    .object(shape, {
      errorMap: (issue, ctx) =>
        issue.code === 'unrecognized_keys'
          ? { message: unknownArgumentsMessage(tool, issue.keys, accepted) }
          : { message: ctx.defaultError },
    })
    .strict();
}
