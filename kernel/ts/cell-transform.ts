// The TypeScript AST transform that turns a cell (written as a module) into a script for V8's REPL mode:
//  - static imports become `const {...} = await <import helper>(<resolved URL>)`, hoisted to the top like
//    ESM imports are; type-only imports vanish; `import x = require('p')` uses CommonJS resolution;
//  - `export` / `export default` are dropped (a cell is not a module for the runtime);
//  - dynamic import() and import.meta go through runtime helpers that resolve from the notebook directory;
//  - every loop body starts with the interrupt check, so a busy loop written in a cell can be stopped;
//  - with `liveCheck`, every function body, catch and finally block starts with it and every `await x`
//    becomes `liveCheck(await x)`: code an interrupted cell left behind (timers, .then callbacks, async
//    functions it did not await) stops at the next of these points (kernel/exec/cell-context.ts).
// No statement is ever appended after the cell's last statement: the REPL returns its completion value.
import ts from 'typescript';
import path from 'node:path';
import { createRequire } from 'node:module';
import { IMPORT_HELPER, IMPORT_META_HELPER, REQUIRE_HELPER } from './cell-runtime.ts';
import { ModuleResolveError, resolveSpecifier } from './resolve-specifier.ts';

export interface ImportProblem { specifier: string; pos: number; message: string }

export interface CellTransformOptions {
  baseDir: string;
  interruptCheck: string;
  /** A function expression: `f()` throws in leftovers of an interrupted cell, `f(v)` also returns v. */
  liveCheck?: string;
  /** Receives every import whose specifier does not resolve; the compiler turns the first into an error. */
  onImportProblem(problem: ImportProblem): void;
}

export function cellTransformer(opts: CellTransformOptions): ts.TransformerFactory<ts.SourceFile> {
  return (context) => {
    const f = context.factory;
    // A raw expression printed verbatim: the printer writes a synthesized identifier's text as it is.
    const raw = (text: string): ts.Identifier => f.createIdentifier(text);
    const str = (text: string): ts.StringLiteral => f.createStringLiteral(text);

    function resolveOrReport(specifier: ts.Expression): string {
      const spec = (specifier as ts.StringLiteral).text;
      try {
        return resolveSpecifier(spec, opts.baseDir);
      } catch (e) {
        if (!(e instanceof ModuleResolveError)) throw e;
        opts.onImportProblem({ specifier: spec, pos: specifier.getStart(), message: e.message });
        return spec;
      }
    }

    function importCall(url: string, attributes: ts.ImportAttributes | undefined): ts.Expression {
      const args: ts.Expression[] = [str(url), str(opts.baseDir)];
      if (attributes) {
        const entries = attributes.elements.map((a) => f.createPropertyAssignment(str(a.name.text), str((a.value as ts.StringLiteral).text)));
        args.push(f.createObjectLiteralExpression([f.createPropertyAssignment('with', f.createObjectLiteralExpression(entries))]));
      }
      return f.createAwaitExpression(f.createCallExpression(raw(IMPORT_HELPER), undefined, args));
    }

    const constStatement = (name: ts.BindingName, init: ts.Expression): ts.Statement =>
      f.createVariableStatement(undefined, f.createVariableDeclarationList([f.createVariableDeclaration(name, undefined, undefined, init)], ts.NodeFlags.Const));

    const sideEffect = (call: ts.Expression): ts.Statement => f.createExpressionStatement(f.createVoidExpression(call));

    const exportName = (n: ts.ModuleExportName): ts.PropertyName => (ts.isIdentifier(n) ? f.createIdentifier(n.text) : str(n.text));

    /** `import ... from 'p'` as zero or more const statements (never more than the names it binds). */
    function rewriteImport(node: ts.ImportDeclaration): ts.Statement[] {
      const clause = node.importClause;
      if (clause?.isTypeOnly) return [];
      const bindings = clause?.namedBindings;
      const named = bindings && ts.isNamedImports(bindings) ? bindings.elements.filter((e) => !e.isTypeOnly) : [];
      if (clause && !clause.name && bindings && ts.isNamedImports(bindings) && named.length === 0) return []; // only types
      const call = importCall(resolveOrReport(node.moduleSpecifier), node.attributes);
      if (!clause) return [sideEffect(call)];
      if (bindings && ts.isNamespaceImport(bindings)) {
        const ns = f.createIdentifier(bindings.name.text);
        const out = [constStatement(ns, call)];
        if (clause.name) out.push(constStatement(f.createIdentifier(clause.name.text), f.createPropertyAccessExpression(f.createIdentifier(bindings.name.text), 'default')));
        return out;
      }
      const elements: ts.BindingElement[] = [];
      if (clause.name) elements.push(f.createBindingElement(undefined, 'default', f.createIdentifier(clause.name.text)));
      for (const e of named) {
        elements.push(f.createBindingElement(undefined, e.propertyName ? exportName(e.propertyName) : undefined, f.createIdentifier(e.name.text)));
      }
      return [constStatement(f.createObjectBindingPattern(elements), call)];
    }

    function rewriteImportEquals(node: ts.ImportEqualsDeclaration): ts.Statement[] | ts.Statement {
      if (node.isTypeOnly) return [];
      if (!ts.isExternalModuleReference(node.moduleReference)) return withoutExport(node); // `import x = N.y`: TS emits it
      const specifier = node.moduleReference.expression as ts.StringLiteral;
      try {
        createRequire(path.join(opts.baseDir, '__orz_cell__.js')).resolve(specifier.text);
      } catch (e) {
        opts.onImportProblem({ specifier: specifier.text, pos: specifier.getStart(), message: `Cannot resolve module '${specifier.text}' from ${opts.baseDir} with require(): ${(e as Error).message.split('\n')[0]}` });
      }
      return constStatement(f.createIdentifier(node.name.text), f.createCallExpression(raw(REQUIRE_HELPER), undefined, [str(specifier.text), str(opts.baseDir)]));
    }

    function withoutExport<T extends ts.HasModifiers>(node: T): T {
      const mods = ts.getModifiers(node);
      if (!mods?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword)) return node;
      return f.replaceModifiers(node, mods.filter((m) => m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.DefaultKeyword));
    }

    /** One top-level statement: imports go to `hoisted`, exports lose their keyword. */
    function topLevel(stmt: ts.Statement, hoisted: ts.Statement[]): ts.Statement | ts.Statement[] | undefined {
      if (ts.isImportDeclaration(stmt)) {
        hoisted.push(...rewriteImport(stmt).map((s) => ts.setSourceMapRange(s, stmt)));
        return undefined;
      }
      if (ts.isImportEqualsDeclaration(stmt)) return rewriteImportEquals(stmt);
      if (ts.isExportDeclaration(stmt)) {
        if (stmt.isTypeOnly || !stmt.moduleSpecifier) return undefined;
        hoisted.push(ts.setSourceMapRange(sideEffect(importCall(resolveOrReport(stmt.moduleSpecifier), stmt.attributes)), stmt));
        return undefined;
      }
      if (ts.isExportAssignment(stmt)) {
        return ts.setSourceMapRange(f.createExpressionStatement(deep(stmt.expression) as ts.Expression), stmt);
      }
      if (ts.isFunctionDeclaration(stmt) && !stmt.name && stmt.body) {
        // `export default function () {}`: no name to declare, so it is an expression like `export default <expr>`.
        const visited = deep(stmt) as ts.FunctionDeclaration;
        const mods = ts.getModifiers(visited)?.filter((m) => m.kind === ts.SyntaxKind.AsyncKeyword);
        const fn = f.createFunctionExpression(mods, visited.asteriskToken, undefined, visited.typeParameters, visited.parameters, visited.type, visited.body!);
        return ts.setSourceMapRange(f.createExpressionStatement(f.createParenthesizedExpression(fn)), stmt);
      }
      if (ts.isClassDeclaration(stmt) && !stmt.name) {
        const visited = deep(stmt) as ts.ClassDeclaration;
        const cls = f.createClassExpression(undefined, undefined, visited.typeParameters, visited.heritageClauses, visited.members);
        return ts.setSourceMapRange(f.createExpressionStatement(f.createParenthesizedExpression(cls)), stmt);
      }
      const visited = deep(stmt) as ts.Statement;
      return ts.canHaveModifiers(visited) ? withoutExport(visited) : visited;
    }

    /** The check maps to the loop's first line, so an interrupt's traceback names the loop that was stopped. */
    function withCheck(body: ts.Statement, loop: ts.Node): ts.Statement {
      const check = ts.setSourceMapRange(f.createExpressionStatement(raw(opts.interruptCheck)), loop);
      if (ts.isBlock(body)) return f.updateBlock(body, [check, ...body.statements]);
      return f.createBlock([check, body], true);
    }

    const liveStatement = (at: ts.Node): ts.Statement =>
      ts.setSourceMapRange(f.createExpressionStatement(f.createCallExpression(raw(opts.liveCheck!), undefined, [])), at);

    const withLiveCheck = (block: ts.Block, at: ts.Node): ts.Block => f.updateBlock(block, [liveStatement(at), ...block.statements]);

    /** A function's body with the live check first (an arrow's expression body becomes `(check(), expr)`). */
    function liveBody(body: ts.ConciseBody, at: ts.Node): ts.ConciseBody {
      if (ts.isBlock(body)) return withLiveCheck(body, at);
      const call = f.createCallExpression(raw(opts.liveCheck!), undefined, []);
      return f.createParenthesizedExpression(f.createCommaListExpression([call, body]));
    }

    /** Function entries, catch/finally blocks and await resumptions get the live check (when asked for). */
    function live(visited: ts.Node, original: ts.Node): ts.Node {
      switch (visited.kind) {
        case ts.SyntaxKind.AwaitExpression:
          return f.createCallExpression(raw(opts.liveCheck!), undefined, [visited as ts.AwaitExpression]);
        case ts.SyntaxKind.FunctionDeclaration: {
          const n = visited as ts.FunctionDeclaration;
          if (!n.body) return n;
          return f.updateFunctionDeclaration(n, n.modifiers, n.asteriskToken, n.name, n.typeParameters, n.parameters, n.type, withLiveCheck(n.body, original));
        }
        case ts.SyntaxKind.FunctionExpression: {
          const n = visited as ts.FunctionExpression;
          return f.updateFunctionExpression(n, n.modifiers, n.asteriskToken, n.name, n.typeParameters, n.parameters, n.type, withLiveCheck(n.body, original));
        }
        case ts.SyntaxKind.ArrowFunction: {
          const n = visited as ts.ArrowFunction;
          return f.updateArrowFunction(n, n.modifiers, n.typeParameters, n.parameters, n.type, n.equalsGreaterThanToken, liveBody(n.body, original));
        }
        case ts.SyntaxKind.MethodDeclaration: {
          const n = visited as ts.MethodDeclaration;
          if (!n.body) return n;
          return f.updateMethodDeclaration(n, n.modifiers, n.asteriskToken, n.name, n.questionToken, n.typeParameters, n.parameters, n.type, withLiveCheck(n.body, original));
        }
        case ts.SyntaxKind.GetAccessor: {
          const n = visited as ts.GetAccessorDeclaration;
          if (!n.body) return n;
          return f.updateGetAccessorDeclaration(n, n.modifiers, n.name, n.parameters, n.type, withLiveCheck(n.body, original));
        }
        case ts.SyntaxKind.SetAccessor: {
          const n = visited as ts.SetAccessorDeclaration;
          if (!n.body) return n;
          return f.updateSetAccessorDeclaration(n, n.modifiers, n.name, n.parameters, withLiveCheck(n.body, original));
        }
        // Constructors are left alone: a statement before super() would break parameter properties.
        case ts.SyntaxKind.CatchClause: {
          const n = visited as ts.CatchClause;
          return f.updateCatchClause(n, n.variableDeclaration, withLiveCheck(n.block, original));
        }
        case ts.SyntaxKind.TryStatement: {
          const n = visited as ts.TryStatement;
          if (!n.finallyBlock) return n;
          return f.updateTryStatement(n, n.tryBlock, n.catchClause, withLiveCheck(n.finallyBlock, n.finallyBlock));
        }
        default:
          return visited;
      }
    }

    /** Loops anywhere get the interrupt check; import() and import.meta go through the runtime helpers. */
    function deep(node: ts.Node): ts.Node {
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const [spec, options] = node.arguments.map((a) => deep(a) as ts.Expression);
        const specArg = spec && ts.isStringLiteralLike(spec) && !/^(file|node|data):/.test(spec.text) ? tryResolve(spec.text) : spec;
        const args = [specArg ?? f.createIdentifier('undefined'), str(opts.baseDir)];
        if (options) args.push(options);
        return f.createCallExpression(raw(IMPORT_HELPER), undefined, args);
      }
      if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
        return f.createCallExpression(raw(IMPORT_META_HELPER), undefined, [str(opts.baseDir)]);
      }
      const children = ts.visitEachChild(node, deep, context);
      const visited = opts.liveCheck ? live(children, node) : children;
      switch (visited.kind) {
        case ts.SyntaxKind.ForStatement: {
          const n = visited as ts.ForStatement;
          return f.updateForStatement(n, n.initializer, n.condition, n.incrementor, withCheck(n.statement, node));
        }
        case ts.SyntaxKind.ForInStatement: {
          const n = visited as ts.ForInStatement;
          return f.updateForInStatement(n, n.initializer, n.expression, withCheck(n.statement, node));
        }
        case ts.SyntaxKind.ForOfStatement: {
          const n = visited as ts.ForOfStatement;
          return f.updateForOfStatement(n, n.awaitModifier, n.initializer, n.expression, withCheck(n.statement, node));
        }
        case ts.SyntaxKind.WhileStatement: {
          const n = visited as ts.WhileStatement;
          return f.updateWhileStatement(n, n.expression, withCheck(n.statement, node));
        }
        case ts.SyntaxKind.DoStatement: {
          const n = visited as ts.DoStatement;
          return f.updateDoStatement(n, withCheck(n.statement, node), n.expression);
        }
        default:
          return visited;
      }
    }

    /** A literal dynamic import resolved now when possible; failures are left to reject at run time. */
    function tryResolve(spec: string): ts.Expression {
      try {
        return str(resolveSpecifier(spec, opts.baseDir));
      } catch {
        return str(spec);
      }
    }

    /** Names of top-level enums that nothing else in the cell declares: they start afresh in this cell. */
    function enumsToReset(sf: ts.SourceFile): Set<string> {
      const enums = new Set<string>();
      const others = new Set<string>();
      for (const s of sf.statements) {
        const name = (s as { name?: ts.Node }).name;
        if (!name || !ts.isIdentifier(name)) continue;
        const ambient = ts.getModifiers(s as ts.HasModifiers)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword) ?? false;
        if (ts.isEnumDeclaration(s) && !ambient) enums.add(name.text);
        else if (ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isModuleDeclaration(s)) others.add(name.text);
      }
      return new Set([...enums].filter((n) => !others.has(n)));
    }

    return (sf) => {
      const hoisted: ts.Statement[] = [];
      const body: ts.Statement[] = [];
      // TypeScript emits `(function (E) {...})(E || (E = {}))`, which would merge a re-run enum into the
      // object of the previous run; the REPL rule is that the newest declaration wins.
      const reset = enumsToReset(sf);
      for (const stmt of sf.statements) {
        if (ts.isEnumDeclaration(stmt) && reset.delete(stmt.name.text)) {
          const fresh = f.createVariableStatement(undefined, f.createVariableDeclarationList([f.createVariableDeclaration(stmt.name.text, undefined, undefined, f.createVoidZero())]));
          body.push(ts.setSourceMapRange(fresh, stmt));
        }
        const out = topLevel(stmt, hoisted);
        if (Array.isArray(out)) body.push(...out);
        else if (out) body.push(out);
      }
      return f.updateSourceFile(sf, [...hoisted, ...body]);
    };
  };
}

/** Runs after TypeScript's module transform, which appends `export {};` to a file that was a module. */
export const dropEmptyExport: ts.TransformerFactory<ts.SourceFile> = (context) => (sf) =>
  context.factory.updateSourceFile(sf, sf.statements.filter((s) => !(ts.isExportDeclaration(s) && !s.moduleSpecifier && s.exportClause && ts.isNamedExports(s.exportClause) && s.exportClause.elements.length === 0)));
