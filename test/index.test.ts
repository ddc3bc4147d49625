/**
 * The public entry exports every type its exported signatures reach, so a library user can
 * name what the API gives back (a Listener's `holders`, `select`'s argument, a rule set …).
 * Read with the TypeScript checker from src/index.ts, as a user's compiler sees it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = `${ROOT}src/`;

/**
 * Reachable on purpose but not exported: ProcFs is the internal /proc seam; the public
 * `ProcReader` (RuleBehaviour.procReader) is a Pick of it, exported under its own name.
 */
const INTERNAL = new Set(['ProcFs']);

function unexportedReachable(entry: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${ROOT}tsconfig.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  ) as ts.ParsedCommandLine;
  const program = ts.createProgram([entry], config.options);
  const checker = program.getTypeChecker();
  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile) as ts.Symbol;
  const exported = new Set(checker.getExportsOfModule(module).map(resolve));
  const named = ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class | ts.SymbolFlags.Enum;
  const seen = new Set<ts.Symbol>();
  const missing = new Set<string>();

  const visitType = (t: ts.Type): void => {
    const s = t.aliasSymbol ?? t.getSymbol();
    if (s) visitSymbol(resolve(s));
    if (t.isUnionOrIntersection()) t.types.forEach(visitType);
    (t.aliasTypeArguments ?? []).forEach(visitType);
  };
  const hidden = (node: ts.Node): boolean =>
    (ts.canHaveModifiers(node) &&
      (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) ||
    ((ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) && ts.isPrivateIdentifier(node.name));
  const visitNode = (node: ts.Node): void => {
    if (hidden(node)) return;
    if (ts.isFunctionLike(node)) {
      // The signature, never the body; an inferred return type is read from the checker.
      node.parameters.forEach(visitNode);
      node.typeParameters?.forEach(visitNode);
      if (node.type) visitNode(node.type);
      else if (!ts.isConstructorDeclaration(node)) {
        const signature = checker.getSignatureFromDeclaration(node);
        if (signature) visitType(checker.getReturnTypeOfSignature(signature));
      }
      return;
    }
    if ((ts.isPropertyDeclaration(node) || ts.isVariableDeclaration(node)) && !node.type && node.initializer) {
      visitType(checker.getTypeAtLocation(node));
      return;
    }
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isTypeQueryNode(node)) {
      const name = ts.isTypeReferenceNode(node) ? node.typeName : ts.isTypeQueryNode(node) ? node.exprName : node.expression;
      const s = checker.getSymbolAtLocation(name);
      if (s) visitSymbol(resolve(s));
    }
    ts.forEachChild(node, visitNode);
  };
  const visitSymbol = (s: ts.Symbol): void => {
    if (seen.has(s)) return;
    const declarations = (s.declarations ?? []).filter((d) => d.getSourceFile().fileName.startsWith(SRC));
    if (declarations.length === 0) return; // Node's or a dependency's
    seen.add(s);
    if (!exported.has(s) && s.flags & named && !INTERNAL.has(s.name)) missing.add(s.name);
    declarations.forEach(visitNode);
  };
  exported.forEach(visitSymbol);
  return [...missing].sort();
}

describe('the public entry (src/index.ts)', () => {
  it('exports every type its exported functions, classes and types reach', () => {
    expect(unexportedReachable(`${SRC}index.ts`)).toEqual([]);
  }, 60_000);

  it('names what an entry leaves out (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portwatch-entry-'));
    try {
      const entry = join(dir, 'entry.ts');
      writeFileSync(entry, `export type { Listener } from '${SRC}listener.js';\n`);
      expect(unexportedReachable(entry)).toEqual(['Family', 'ListenerContainer', 'ProcessInfo', 'ProcessRef', 'Protocol']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
