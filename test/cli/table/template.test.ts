import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTemplate, renderTemplate, TEMPLATE_FIELDS, type Template, type TemplateField } from '../../../src/cli/table/template.js';

function parsed(text: string): Template {
  const r = parseTemplate(text);
  if (!r.ok) throw new Error(r.error);
  return r.template;
}

const row = (port: string, process: string): Record<TemplateField, string> => ({
  Port: port,
  Protocol: 'tcp',
  Proto: 'tcp46',
  Address: '127.0.0.1,::1',
  Endpoint: `127.0.0.1,[::1]:${port}`,
  Pid: '42',
  User: 'dev',
  Netns: '4026531840',
  Container: '-',
  Process: process,
  Command: `${process} --port ${port}`,
  Label: '-',
});

describe('parseTemplate / renderTemplate', () => {
  it('fields in text, with or without spaces inside the braces', () => {
    const t = parsed('{{.Port}} {{ .Process }} ({{.User}})');
    expect(t.table).toBe(false);
    expect(renderTemplate(t, [row('5173', 'node'), row('8080', 'python3')])).toEqual(['5173 node (dev)', '8080 python3 (dev)']);
  });

  it('`table`: a header of field names, and cells aligned at each \\t', () => {
    const t = parsed('table {{.Port}}\\t{{.Process}}\\t{{.Pid}}');
    expect(renderTemplate(t, [row('5173', 'node'), row('80', 'nginx-worker')])).toEqual([
      'PORT  PROCESS       PID',
      '5173  node          42',
      '80    nginx-worker  42',
    ]);
  });

  it('\\t and \\n are a tab and a newline outside table mode, \\\\ a backslash; other backslashes stay', () => {
    expect(renderTemplate(parsed('{{.Port}}\\t{{.Pid}}\\n\\\\x\\d'), [row('1', 'a')])).toEqual(['1\t42\n\\x\\d']);
  });

  it('`table` alone is the default table (no parts); a word starting with table is text', () => {
    expect(parsed('table')).toEqual({ table: true, parts: [] });
    expect(renderTemplate(parsed('tables {{.Port}}'), [row('1', 'a')])).toEqual(['tables 1']);
  });

  it.each([
    ['{{.port}}', "unknown field '{{.port}}'; did you mean {{.Port}}?"],
    ['{{.Host}}', "unknown field '{{.Host}}' (fields: {{.Port}}"],
    ['{{json .}}', "unsupported action '{{json .}}': only fields are understood"],
    ['{{.Port | printf "%d"}}', 'unsupported action'],
    ['{{if .Label}}x{{end}}', 'unsupported action'],
    ['port {{.Port', "unclosed '{{' at character 6"],
    ['table {{.Port', "unclosed '{{' at character 7"],
    ['', 'the template is empty'],
  ])('%j is refused: %s', (text, message) => {
    const r = parseTemplate(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });

  it('every field error lists every field', () => {
    const r = parseTemplate('{{.Nope}}');
    if (r.ok) throw new Error('accepted');
    for (const f of TEMPLATE_FIELDS) expect(r.error).toContain(`{{.${f}}}`);
  });

  it('a lone }} is text, as in Go', () => {
    expect(renderTemplate(parsed('a }} {{.Port}}'), [row('7', 'x')])).toEqual(['a }} 7']);
  });

  it('never throws: any text parses or says why not, and any parsed template renders any values', () => {
    const pieces = fc.oneof(
      fc.string(),
      fc.constantFrom('{{', '}}', '{{.', '\\t', '\\n', '\\', 'table ', '{{.Port}}', '{{ .Label }}', '{{.port}}'),
      fc.constantFrom(...TEMPLATE_FIELDS).map((f) => `{{.${f}}}`),
    );
    const values = fc.record(
      Object.fromEntries(TEMPLATE_FIELDS.map((f) => [f, fc.string()])) as Record<TemplateField, fc.Arbitrary<string>>,
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), fc.array(values, { maxLength: 4 }), (parts, rows) => {
        const r = parseTemplate(parts.join(''));
        if (!r.ok) {
          expect(typeof r.error).toBe('string');
          return;
        }
        const lines = renderTemplate(r.template, rows);
        expect(Array.isArray(lines)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
