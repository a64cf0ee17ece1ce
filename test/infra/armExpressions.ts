/**
 * A small evaluator for ARM template expressions ("[...]" strings), enough for the app settings a
 * `bicep snapshot` leaves unevaluated because they read Azure at deployment time (environment(),
 * reference() of a resource or of a module's outputs). The test supplies those reads; everything
 * else, including the template's own user-defined functions and fail(), runs as ARM would run it.
 * An ARM function this does not know throws, so a test cannot pass by skipping part of a value.
 */

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** Stand-ins for what ARM reads from Azure while deploying. */
export interface AzureReads {
  /** environment(): the cloud the deployment runs in, and its Entra login endpoint (ends with /). */
  readonly environment: { readonly name: string; readonly authentication?: { readonly loginEndpoint: string } };
  /** reference(id, apiVersion[, 'full']) of a resource that is not a deployment. */
  resource(resourceId: string, full: boolean): Value;
  /** Outputs of the module deployed as `<symbol>-<suffix>` (Bicep's generated deployment names). */
  moduleOutputs(deploymentName: string): Record<string, Value>;
}

/** `functions` of a compiled template: user-defined functions by namespace.member. */
export type TemplateFunctions = Record<string, { parameters: string[]; body: string }>;

/** Raised by the template's own fail(): the deployment would stop with this message. */
export class DeploymentFailure extends Error {
  override readonly name = 'DeploymentFailure';
}

type Node =
  | { readonly type: 'literal'; readonly value: Value }
  | { readonly type: 'call'; readonly name: string; readonly args: readonly Node[] }
  | { readonly type: 'property'; readonly target: Node; readonly name: string }
  | { readonly type: 'index'; readonly target: Node; readonly index: Node };

interface Token {
  readonly kind: 'string' | 'number' | 'ident' | 'punct';
  readonly text: string;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new SyntaxError(`unterminated string in ${source}`);
        if (source[i] === "'") {
          if (source[i + 1] === "'") {
            text += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += source.charAt(i++);
      }
      tokens.push({ kind: 'string', text });
    } else if (/[0-9-]/.test(ch)) {
      const match = /^-?\d+/.exec(source.slice(i))!;
      tokens.push({ kind: 'number', text: match[0] });
      i += match[0].length;
    } else if (/[A-Za-z_$]/.test(ch)) {
      const match = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*(?=\s*\()/.exec(source.slice(i)) ?? /^[A-Za-z_$][\w$]*/.exec(source.slice(i))!;
      tokens.push({ kind: 'ident', text: match[0] });
      i += match[0].length;
    } else if ('(),[].'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch });
      i++;
    } else {
      throw new SyntaxError(`unexpected "${ch}" in ${source}`);
    }
  }
  return tokens;
}

function parse(source: string): Node {
  const tokens = tokenize(source);
  let at = 0;
  const peek = () => tokens[at];
  const expect = (text: string) => {
    const token = tokens[at++];
    if (token?.text !== text || token.kind !== 'punct') throw new SyntaxError(`expected "${text}" in ${source}`);
  };
  const expression = (): Node => {
    const token = tokens[at++];
    if (token === undefined) throw new SyntaxError(`unexpected end of ${source}`);
    let node: Node;
    if (token.kind === 'string') node = { type: 'literal', value: token.text };
    else if (token.kind === 'number') node = { type: 'literal', value: Number(token.text) };
    else if (token.kind === 'ident' && peek()?.text === '(') {
      at++;
      const args: Node[] = [];
      while (peek()?.text !== ')') {
        args.push(expression());
        if (peek()?.text === ',') at++;
      }
      expect(')');
      node = { type: 'call', name: token.text, args };
    } else throw new SyntaxError(`unexpected "${token.text}" in ${source}`);
    for (;;) {
      if (peek()?.text === '.') {
        at++;
        const name = tokens[at++];
        if (name?.kind !== 'ident') throw new SyntaxError(`expected a property name in ${source}`);
        node = { type: 'property', target: node, name: name.text };
      } else if (peek()?.text === '[') {
        at++;
        const index = expression();
        expect(']');
        node = { type: 'index', target: node, index };
      } else return node;
    }
  };
  const node = expression();
  if (at !== tokens.length) throw new SyntaxError(`trailing input in ${source}`);
  return node;
}

interface Lambda {
  readonly lambda: true;
  readonly names: readonly string[];
  readonly body: Node;
}

interface Scope {
  readonly parameters: Readonly<Record<string, Value>>;
  readonly lambdaVariables: Readonly<Record<string, Value>>;
}

const isObject = (v: unknown): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v);
const asString = (v: unknown, fn: string): string => {
  if (typeof v !== 'string') throw new TypeError(`${fn}() expects a string, got ${JSON.stringify(v)}`);
  return v;
};
const asNumber = (v: unknown, fn: string): number => {
  if (typeof v !== 'number') throw new TypeError(`${fn}() expects an int, got ${JSON.stringify(v)}`);
  return v;
};
const equalValues = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The template an expression comes from: its user-defined functions, variables, resources and parameter values. */
export interface TemplateContext {
  readonly functions?: TemplateFunctions;
  readonly variables?: Readonly<Record<string, unknown>>;
  /** Resources by symbolic name, for reference('<symbol>', …) in languageVersion 2.0 templates. */
  readonly resources?: Readonly<Record<string, unknown>>;
  readonly parameters?: Readonly<Record<string, Value>>;
}

export class ArmEvaluator {
  private readonly functions: TemplateFunctions;
  private readonly variables: Readonly<Record<string, unknown>>;
  private readonly resources: Readonly<Record<string, unknown>>;
  private readonly root: Scope;

  constructor(
    private readonly reads: AzureReads,
    context: TemplateContext = {},
  ) {
    this.functions = context.functions ?? {};
    this.variables = context.variables ?? {};
    this.resources = context.resources ?? {};
    this.root = { parameters: context.parameters ?? {}, lambdaVariables: {} };
  }

  /** Evaluates a template value: "[expr]" strings are expressions, "[[" escapes a literal "[". */
  value(raw: unknown): Value {
    if (typeof raw === 'string') {
      if (raw.startsWith('[[')) return raw.slice(1);
      if (raw.startsWith('[') && raw.endsWith(']')) return this.expression(raw.slice(1, -1));
      return raw;
    }
    if (Array.isArray(raw)) return raw.map((item) => this.value(item));
    if (isObject(raw)) return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, this.value(v)]));
    return raw as Value;
  }

  expression(source: string): Value {
    return this.evaluate(parse(source), this.root) as Value;
  }

  /** A resource ID, or the ID of the resource a symbolic name declares. */
  private resourceIdOf(idOrSymbol: string): string {
    if (idOrSymbol.includes('/')) return idOrSymbol;
    const declared = this.resources[idOrSymbol];
    if (!isObject(declared)) throw new TypeError(`no resource ${idOrSymbol} in the template`);
    const field = (key: string, fallback: string) => (declared[key] === undefined ? fallback : asString(this.value(declared[key]), 'reference'));
    const type = field('type', '');
    return `/subscriptions/${field('subscriptionId', '<subscription>')}/resourceGroups/${field('resourceGroup', '<group>')}/providers/${type}/${field('name', '')}`;
  }

  private evaluate(node: Node, scope: Scope): Value | Lambda {
    switch (node.type) {
      case 'literal':
        return node.value;
      case 'property': {
        const target = this.evaluate(node.target, scope);
        if (!isObject(target) || !(node.name in target)) throw new TypeError(`no property "${node.name}" on ${JSON.stringify(target)}`);
        return target[node.name]!;
      }
      case 'index': {
        const target = this.evaluate(node.target, scope);
        const index = this.evaluate(node.index, scope);
        const item = Array.isArray(target) && typeof index === 'number' ? target[index] : isObject(target) && typeof index === 'string' ? target[index] : undefined;
        if (item === undefined) throw new TypeError(`no [${JSON.stringify(index)}] in ${JSON.stringify(target)}`);
        return item;
      }
      case 'call':
        return this.call(node.name, node.args, scope);
    }
  }

  private call(name: string, args: readonly Node[], scope: Scope): Value | Lambda {
    const arg = (i: number): Value => {
      const node = args[i];
      if (node === undefined) throw new TypeError(`${name}() is missing argument ${i + 1}`);
      const value = this.evaluate(node, scope);
      if (isObject(value) && 'lambda' in value) throw new TypeError(`${name}(): unexpected lambda`);
      return value as Value;
    };
    const all = () => args.map((_, i) => arg(i));
    const lambdaArg = (i: number): Lambda => {
      const value = args[i] && this.evaluate(args[i], scope);
      if (!isObject(value) || !('lambda' in value)) throw new TypeError(`${name}() expects a lambda`);
      return value as unknown as Lambda;
    };
    const apply = (fn: Lambda, ...values: Value[]): Value =>
      this.evaluate(fn.body, {
        parameters: scope.parameters,
        lambdaVariables: { ...scope.lambdaVariables, ...Object.fromEntries(fn.names.map((n, i) => [n, values[i] ?? null])) },
      }) as Value;

    const userFunction = this.functions[name];
    if (userFunction !== undefined) {
      const values = all();
      const parameters = Object.fromEntries(userFunction.parameters.map((p, i) => [p, values[i] ?? null]));
      return this.evaluate(parse(userFunction.body), { parameters, lambdaVariables: {} });
    }

    switch (name.toLowerCase()) {
      // Lazy, as in ARM: the branch not taken (often a fail()) is never evaluated.
      case 'if':
        return arg(0) === true ? arg(1) : arg(2);
      case 'coalesce':
        for (let i = 0; i < args.length; i++) {
          const value = arg(i);
          if (value !== null) return value;
        }
        return null;
      case 'and':
        return args.every((_, i) => arg(i) === true);
      case 'or':
        return args.some((_, i) => arg(i) === true);
      case 'fail':
        throw new DeploymentFailure(asString(arg(0), name));
      case 'not':
        return arg(0) !== true;
      case 'true':
        return true;
      case 'false':
        return false;
      case 'null':
        return null;
      case 'equals':
        return equalValues(arg(0), arg(1));
      case 'greater':
        return asNumber(arg(0), name) > asNumber(arg(1), name);
      case 'greaterorequals':
        return asNumber(arg(0), name) >= asNumber(arg(1), name);
      case 'less':
        return asNumber(arg(0), name) < asNumber(arg(1), name);
      case 'lessorequals':
        return asNumber(arg(0), name) <= asNumber(arg(1), name);
      case 'empty': {
        const v = arg(0);
        return v === null || (typeof v === 'string' || Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0);
      }
      case 'createobject': {
        const values = all();
        const object: Record<string, Value> = {};
        for (let i = 0; i < values.length; i += 2) object[asString(values[i], name)] = values[i + 1] ?? null;
        return object;
      }
      case 'createarray':
        return all();
      case 'string': {
        const v = arg(0);
        return typeof v === 'string' ? v : JSON.stringify(v);
      }
      case 'format': {
        const [template, ...rest] = all();
        return asString(template, name).replace(/\{(\d+)\}/g, (_, n: string) => {
          const v = rest[Number(n)];
          return typeof v === 'string' ? v : JSON.stringify(v);
        });
      }
      case 'concat': {
        const values = all();
        return values.every(Array.isArray) ? values.flat() : values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('');
      }
      case 'tolower':
        return asString(arg(0), name).toLowerCase();
      case 'trim':
        return asString(arg(0), name).trim();
      case 'toupper':
        return asString(arg(0), name).toUpperCase();
      case 'replace':
        return asString(arg(0), name).split(asString(arg(1), name)).join(asString(arg(2), name));
      case 'startswith':
        return asString(arg(0), name).toLowerCase().startsWith(asString(arg(1), name).toLowerCase());
      case 'endswith':
        return asString(arg(0), name).toLowerCase().endsWith(asString(arg(1), name).toLowerCase());
      case 'contains': {
        const [container, item] = [arg(0), arg(1)];
        if (typeof container === 'string') return container.toLowerCase().includes(asString(item, name).toLowerCase());
        if (Array.isArray(container)) return container.some((v) => equalValues(v, item));
        return isObject(container) && Object.keys(container).some((k) => k.toLowerCase() === asString(item, name).toLowerCase());
      }
      case 'length': {
        const v = arg(0);
        if (typeof v === 'string' || Array.isArray(v)) return v.length;
        if (isObject(v)) return Object.keys(v).length;
        throw new TypeError(`length() of ${JSON.stringify(v)}`);
      }
      case 'take':
      case 'skip': {
        const [v, n] = [arg(0), asNumber(arg(1), name)];
        if (typeof v !== 'string' && !Array.isArray(v)) throw new TypeError(`${name}() of ${JSON.stringify(v)}`);
        return (name.toLowerCase() === 'take' ? v.slice(0, Math.max(0, n)) : v.slice(Math.max(0, n)));
      }
      case 'add':
        return asNumber(arg(0), name) + asNumber(arg(1), name);
      case 'sub':
        return asNumber(arg(0), name) - asNumber(arg(1), name);
      case 'split':
        return asString(arg(0), name).split(asString(arg(1), name));
      case 'join': {
        const v = arg(0);
        if (!Array.isArray(v)) throw new TypeError('join() expects an array');
        return v.map((s) => asString(s, name)).join(asString(arg(1), name));
      }
      case 'first':
      case 'last': {
        const v = arg(0);
        if (typeof v !== 'string' && !Array.isArray(v)) throw new TypeError(`${name}() of ${JSON.stringify(v)}`);
        return (name.toLowerCase() === 'first' ? v[0] : v[v.length - 1]) ?? null;
      }
      case 'range':
        return Array.from({ length: asNumber(arg(1), name) }, (_, i) => asNumber(arg(0), name) + i);
      case 'union': {
        const values = all();
        if (values.every(Array.isArray)) return [...new Map((values as Value[][]).flat().map((v) => [JSON.stringify(v), v])).values()];
        return Object.assign({}, ...values.map((v) => (isObject(v) ? v : {}))) as Value;
      }
      case 'tryget': {
        const [target, key] = [arg(0), arg(1)];
        if (isObject(target) && typeof key === 'string') return target[key] ?? null;
        if (Array.isArray(target) && typeof key === 'number') return target[key] ?? null;
        return null;
      }
      case 'substring': {
        const s = asString(arg(0), name);
        const start = asNumber(arg(1), name);
        return args.length > 2 ? s.slice(start, start + asNumber(arg(2), name)) : s.slice(start);
      }
      case 'lambda': {
        const names = args.slice(0, -1).map((n) => {
          if (n.type !== 'literal' || typeof n.value !== 'string') throw new TypeError('lambda() takes variable names');
          return n.value;
        });
        return { lambda: true, names, body: args[args.length - 1]! };
      }
      case 'lambdavariables': {
        const variable = asString(arg(0), name);
        if (!(variable in scope.lambdaVariables)) throw new TypeError(`unbound lambda variable ${variable}`);
        return scope.lambdaVariables[variable]!;
      }
      case 'map': {
        const [items, fn] = [arg(0), lambdaArg(1)];
        if (!Array.isArray(items)) throw new TypeError('map() expects an array');
        return items.map((item, i) => apply(fn, item, i));
      }
      case 'filter': {
        const [items, fn] = [arg(0), lambdaArg(1)];
        if (!Array.isArray(items)) throw new TypeError('filter() expects an array');
        return items.filter((item, i) => apply(fn, item, i) === true);
      }
      case 'parameters': {
        const parameter = asString(arg(0), name);
        if (!(parameter in scope.parameters)) throw new TypeError(`unbound parameter ${parameter}`);
        return scope.parameters[parameter]!;
      }
      case 'variables': {
        const variable = asString(arg(0), name);
        if (!(variable in this.variables)) throw new TypeError(`unknown variable ${variable}`);
        return this.value(this.variables[variable]);
      }
      case 'environment':
        return { ...this.reads.environment };
      case 'deployment':
        return { name: 'main' };
      case 'uniquestring':
        return 'u' + all().map((v) => JSON.stringify(v)).join('').length.toString(36);
      case 'resourceid': {
        const values = all().map((v) => asString(v, name));
        const typeAt = values.findIndex((v) => v.includes('/'));
        const [subscription, group] = typeAt >= 2 ? values : ['<subscription>', ...values];
        const type = values[typeAt]!;
        const names = values.slice(typeAt + 1);
        return `/subscriptions/${subscription}/resourceGroups/${group}/providers/${type}/${names.join('/')}`;
      }
      case 'extensionresourceid': {
        const [scopeId, type, ...names] = all().map((v) => asString(v, name));
        return `${scopeId}/providers/${type}/${names.join('/')}`;
      }
      case 'reference': {
        const id = this.resourceIdOf(asString(arg(0), name));
        const deployment = /\/providers\/Microsoft\.Resources\/deployments\/([^/]+)$/i.exec(id);
        if (deployment) {
          const outputs = this.reads.moduleOutputs(deployment[1]!);
          return { outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { type: typeof v, value: v }])) };
        }
        return this.reads.resource(id, args.length > 2 && arg(2) === 'full');
      }
      default:
        throw new TypeError(`ARM function ${name}() is not supported by this evaluator; add it`);
    }
  }
}

/** User-defined functions of a compiled template and the templates nested in it. */
export function templateFunctions(template: unknown): TemplateFunctions {
  const found: TemplateFunctions = {};
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) { node.forEach(visit); return; }
    if (!isObject(node)) return;
    const functions = node.functions;
    if (Array.isArray(functions)) {
      for (const ns of functions) {
        if (!isObject(ns) || typeof ns.namespace !== 'string' || !isObject(ns.members)) continue;
        for (const [member, definition] of Object.entries(ns.members)) {
          if (!isObject(definition) || !isObject(definition.output) || typeof definition.output.value !== 'string') continue;
          const parameters = Array.isArray(definition.parameters)
            ? definition.parameters.map((p) => (isObject(p) && typeof p.name === 'string' ? p.name : ''))
            : [];
          found[`${ns.namespace}.${member}`] = { parameters, body: definition.output.value.slice(1, -1) };
        }
      }
    }
    Object.values(node).forEach(visit);
  };
  visit(template);
  return found;
}
