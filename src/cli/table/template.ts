/**
 * `--format`: Go-template-like text as `docker ps --format` takes it, one line per row.
 *
 *   '{{.Port}} {{.Process}}'                 fields in text
 *   'table {{.Port}}\t{{.Process}}'          a header row, and cells aligned at each \t
 *
 * `\t` and `\n` in the template are a tab and a newline, `\\` a backslash. Only fields are
 * understood (`{{.Port}}`, `{{ .Port }}`); anything else between `{{` and `}}` (functions,
 * pipes, `if`, `range`) is refused with the list of fields. Pure: parseTemplate and
 * renderTemplate never throw; a bad template is an error message for the caller.
 */
import { alignColumns } from './columns.js';

export const TEMPLATE_FIELDS = [
  'Port',
  'Protocol',
  'Proto',
  'Address',
  'Endpoint',
  'Pid',
  'User',
  'Process',
  'Command',
  'Label',
  'Netns',
  'Container',
] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

export type TemplatePart = { text: string } | { field: TemplateField };

export interface Template {
  /** `table …`: a header row first, cells aligned at tabs. */
  table: boolean;
  parts: TemplatePart[];
}

export type TemplateResult = { ok: true; template: Template } | { ok: false; error: string };

const FIELD_LIST = TEMPLATE_FIELDS.map((f) => `{{.${f}}}`).join(' ');

/** `\t`, `\n`, `\\` as characters; any other backslash stays. */
function unescape(text: string): string {
  return text.replace(/\\([tn\\])/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : '\\'));
}

function fieldOf(action: string): { field: TemplateField } | { error: string } {
  const m = /^\.([A-Za-z][A-Za-z0-9_]*)$/.exec(action.trim());
  if (!m) return { error: `unsupported action '{{${action}}}': only fields are understood (${FIELD_LIST})` };
  const name = m[1] as string;
  const field = TEMPLATE_FIELDS.find((f) => f === name);
  if (field !== undefined) return { field };
  const near = TEMPLATE_FIELDS.find((f) => f.toLowerCase() === name.toLowerCase());
  const hint = near === undefined ? '' : `; did you mean {{.${near}}}?`;
  return { error: `unknown field '{{${action}}}'${hint} (fields: ${FIELD_LIST})` };
}

/** The template's pieces, or what is wrong with it. */
export function parseTemplate(source: string): TemplateResult {
  const tableMatch = /^table(?:\s|$)/.exec(source);
  const body = tableMatch ? source.slice(tableMatch[0].length) : source;
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < body.length) {
    const open = body.indexOf('{{', at);
    if (open < 0) {
      parts.push({ text: unescape(body.slice(at)) });
      break;
    }
    if (open > at) parts.push({ text: unescape(body.slice(at, open)) });
    const close = body.indexOf('}}', open + 2);
    if (close < 0) return { ok: false, error: `unclosed '{{' at character ${open + 1 + (source.length - body.length)}` };
    const action = fieldOf(body.slice(open + 2, close));
    if ('error' in action) return { ok: false, error: action.error };
    parts.push(action);
    at = close + 2;
  }
  if (!tableMatch && parts.length === 0) return { ok: false, error: `the template is empty: use fields such as ${FIELD_LIST}` };
  return { ok: true, template: { table: tableMatch !== null, parts } };
}

/** Header names: PORT, PROCESS, …; literal text stays as written. */
function headerLine(t: Template): string {
  return t.parts.map((p) => ('field' in p ? p.field.toUpperCase() : p.text)).join('');
}

function line(t: Template, values: Readonly<Record<TemplateField, string>>): string {
  return t.parts.map((p) => ('field' in p ? (values[p.field] ?? '') : p.text)).join('');
}

/**
 * The output, one entry per row (a template with `\n` makes an entry of several lines).
 * In table mode: the header first, and every line's tab-separated cells aligned.
 */
export function renderTemplate(t: Template, rows: readonly Readonly<Record<TemplateField, string>>[]): string[] {
  const lines = rows.map((r) => line(t, r));
  if (!t.table) return lines;
  const physical = [headerLine(t), ...lines].join('\n').split('\n');
  return alignColumns(physical.map((l) => l.split('\t')));
}
