// The names a cell declares at its top level (what later cells can see), with the kind of each, read from
// its syntax tree only. The language service uses them to decide which earlier declaration is the newest.
import ts from 'typescript';

export type NameKind = 'const' | 'let' | 'var' | 'function' | 'class' | 'enum' | 'namespace' | 'type' | 'import';

export interface CellName {
  name: string;
  kind: NameKind;
  /** Already exported by the cell's own text (`export const x`), so no generated export is needed. */
  exported: boolean;
}

const hasModifier = (node: ts.Node, kind: ts.SyntaxKind): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((m) => m.kind === kind) ?? false);

function bindingNames(name: ts.BindingName, out: string[]): void {
  if (ts.isIdentifier(name)) {
    out.push(name.text);
    return;
  }
  for (const element of name.elements) {
    if (!ts.isOmittedExpression(element)) bindingNames(element.name, out);
  }
}

/** Top-level declared names in source order; a name declared twice (overloads, merging) appears once. */
export function cellNames(sf: ts.SourceFile): CellName[] {
  const found = new Map<string, CellName>();
  const add = (name: string, kind: NameKind, node: ts.Node): void => {
    const exported = hasModifier(node, ts.SyntaxKind.ExportKeyword) && !hasModifier(node, ts.SyntaxKind.DefaultKeyword);
    const previous = found.get(name);
    // A value meaning beats a type meaning of the same name (class/interface or const/type merges).
    if (!previous || previous.kind === 'type') found.set(name, { name, kind, exported: exported || (previous?.exported ?? false) });
  };
  for (const stmt of sf.statements) {
    if (ts.isVariableStatement(stmt)) {
      const flags = stmt.declarationList.flags;
      const kind: NameKind = flags & ts.NodeFlags.Const ? 'const' : flags & ts.NodeFlags.Let ? 'let' : 'var';
      for (const decl of stmt.declarationList.declarations) {
        const names: string[] = [];
        bindingNames(decl.name, names);
        for (const n of names) add(n, kind, stmt);
      }
    } else if (ts.isFunctionDeclaration(stmt) && stmt.name) {
      add(stmt.name.text, 'function', stmt);
    } else if (ts.isClassDeclaration(stmt) && stmt.name) {
      add(stmt.name.text, 'class', stmt);
    } else if (ts.isEnumDeclaration(stmt)) {
      add(stmt.name.text, 'enum', stmt);
    } else if (ts.isModuleDeclaration(stmt) && ts.isIdentifier(stmt.name) && !(stmt.flags & ts.NodeFlags.GlobalAugmentation)) {
      add(stmt.name.text, 'namespace', stmt);
    } else if (ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt)) {
      add(stmt.name.text, 'type', stmt);
    } else if (ts.isImportDeclaration(stmt) && stmt.importClause) {
      const clause = stmt.importClause;
      if (clause.name) add(clause.name.text, 'import', stmt);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) add(bindings.name.text, 'import', stmt);
      if (bindings && ts.isNamedImports(bindings)) for (const e of bindings.elements) add(e.name.text, 'import', stmt);
    } else if (ts.isImportEqualsDeclaration(stmt)) {
      add(stmt.name.text, 'import', stmt);
    }
  }
  // `const x = 1; export { x }` exports x already; a generated second export would be a duplicate.
  for (const stmt of sf.statements) {
    if (!ts.isExportDeclaration(stmt) || stmt.moduleSpecifier || !stmt.exportClause || !ts.isNamedExports(stmt.exportClause)) continue;
    for (const e of stmt.exportClause.elements) {
      const entry = !e.propertyName ? found.get(e.name.text) : undefined;
      if (entry) entry.exported = true;
    }
  }
  return [...found.values()];
}
