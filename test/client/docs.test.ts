import { join } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

/**
 * Editors show TSDoc on hover, and the package's README sends readers there: every export of
 * the package, every member of its interfaces and classes, and every parameter has one.
 */
it('documents every export, member and parameter of the client package', () => {
  const entry = join(import.meta.dirname, '..', '..', 'packages', 'client', 'src', 'index.ts');
  const program = ts.createProgram([entry], {
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${entry} is not a module`);
  const undocumented: string[] = [];
  const documented = (symbol: ts.Symbol) =>
    ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim().length > 0;

  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const name = exported.getName();
    if (!documented(symbol)) undocumented.push(name);
    for (const declaration of symbol.getDeclarations() ?? []) {
      if (ts.isFunctionDeclaration(declaration)) {
        const tags = ts.getJSDocTags(declaration);
        for (const parameter of declaration.parameters) {
          const parameterName = parameter.name.getText();
          if (!tags.some((tag) => ts.isJSDocParameterTag(tag) && tag.name.getText() === parameterName))
            undocumented.push(`${name}(${parameterName})`);
        }
        if (!tags.some((tag) => tag.tagName.text === 'returns')) undocumented.push(`${name} @returns`);
      }
    }
    if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class)) {
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      for (const member of checker.getPropertiesOfType(type)) {
        // Error's own members (message, stack, cause) are documented by the language.
        if (member.getDeclarations()?.every((declaration) => declaration.getSourceFile().isDeclarationFile)) continue;
        if (!documented(member)) undocumented.push(`${name}.${member.getName()}`);
      }
    }
  }
  expect(undocumented).toEqual([]);
});
