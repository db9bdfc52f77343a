/**
 * The two text forms of a config tree, as VyOS prints and loads them: the curly form
 * (`show`, `save`, config.boot) and `set` command lines (`show --commands`). Printing walks
 * the tree in schema order; loading turns either form into `set` paths, which the caller
 * applies through the schema like typed commands (one validation path for everything).
 */
import { CtsyncError } from '../common/errors.js';
import { childSchema, ROOT_SCHEMA, type ConfigTree, type SchemaNode } from './schema.js';

const INDENT = '    ';
const BARE = /^[A-Za-z0-9._:/@+,=-]+$/;

/** Curly-form value: bare when safe, else double-quoted with `\` escapes (VyOS config.boot). */
function curlyValue(value: string): string {
  return BARE.test(value) ? value : doubleQuoted(value);
}

function doubleQuoted(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** `show --commands` value: always single-quoted, as VyOS prints; `'` falls back to double quotes. */
function commandValue(value: string): string {
  return value.includes("'") ? doubleQuoted(value) : `'${value}'`;
}

function orderedChildren(node: SchemaNode, tree: ConfigTree): string[] {
  if (node.node === 'tagNode') return Object.keys(tree);
  const known = Object.keys(node.properties ?? {});
  return known.filter((k) => tree[k] !== undefined);
}

/** Curly text of `tree` whose schema node is `node`; `depth` sets the indentation. */
export function formatCurly(tree: ConfigTree, node: SchemaNode = ROOT_SCHEMA, depth = 0): string {
  const pad = INDENT.repeat(depth);
  const lines: string[] = [];
  for (const name of orderedChildren(node, tree)) {
    const child = childSchema(node, name)!;
    const value = tree[name]!;
    if (child.node === 'leaf') lines.push(`${pad}${name} ${curlyValue(value as string)}`);
    else if (child.node === 'multi') for (const v of value as string[]) lines.push(`${pad}${name} ${curlyValue(v)}`);
    else if (child.node === 'valueless') lines.push(`${pad}${name}`);
    else if (child.node === 'tagNode') {
      for (const tag of Object.keys(value as ConfigTree)) {
        const entry = (value as ConfigTree)[tag] as ConfigTree;
        lines.push(`${pad}${name} ${curlyValue(tag)} {`, ...block(entry, childSchema(child, tag)!, depth + 1), `${pad}}`);
      }
    } else lines.push(`${pad}${name} {`, ...block(value as ConfigTree, child, depth + 1), `${pad}}`);
  }
  return lines.join('\n');
}

function block(tree: ConfigTree, node: SchemaNode, depth: number): string[] {
  const text = formatCurly(tree, node, depth);
  return text === '' ? [] : [text];
}

/** `set …` lines of `tree`, one per leaf value, valueless leaf or childless node. */
export function formatCommands(tree: ConfigTree, node: SchemaNode = ROOT_SCHEMA, prefix: string[] = []): string[] {
  const out: string[] = [];
  for (const name of orderedChildren(node, tree)) {
    const child = childSchema(node, name)!;
    const value = tree[name]!;
    const here = [...prefix, name];
    if (child.node === 'leaf') out.push(`set ${here.join(' ')} ${commandValue(value as string)}`);
    else if (child.node === 'multi') for (const v of value as string[]) out.push(`set ${here.join(' ')} ${commandValue(v)}`);
    else if (child.node === 'valueless') out.push(`set ${here.join(' ')}`);
    else if (child.node === 'tagNode') {
      for (const tag of Object.keys(value as ConfigTree)) {
        const entry = (value as ConfigTree)[tag] as ConfigTree;
        const tagPath = [...here, curlyValue(tag)];
        const inner = formatCommands(entry, childSchema(child, tag)!, tagPath);
        out.push(...(inner.length > 0 ? inner : [`set ${tagPath.join(' ')}`]));
      }
    } else {
      const inner = formatCommands(value as ConfigTree, child, here);
      out.push(...(inner.length > 0 ? inner : [`set ${here.join(' ')}`]));
    }
  }
  return out;
}

type Token = { kind: 'word'; text: string } | { kind: 'open' } | { kind: 'close' } | { kind: 'eol' };

function loadError(line: number, why: string): CtsyncError {
  return new CtsyncError('CONFIG_LOAD_FAILED', `Load failed: line ${line}: ${why}`);
}

/**
 * Shell-like tokens: 'single' literal, "double" with backslash escapes, bare words; `{` `}`
 * as tokens; `#` and `//` line comments and `/* … *\/` comments (config.boot footer) skipped.
 */
export function tokenize(text: string): { token: Token; line: number }[] {
  const out: { token: Token; line: number }[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      out.push({ token: { kind: 'eol' }, line: line++ });
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#' || text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw loadError(line, 'unterminated comment');
      line += text.slice(i, end).split('\n').length - 1;
      i = end + 2;
    } else if (c === '{' || c === '}') {
      out.push({ token: { kind: c === '{' ? 'open' : 'close' }, line });
      i++;
    } else {
      let word = '';
      while (i < text.length && !/[\s{}]/.test(text[i]!)) {
        const q = text[i]!;
        if (q === "'" || q === '"') {
          i++;
          while (i < text.length && text[i] !== q) {
            if (q === '"' && text[i] === '\\' && i + 1 < text.length) i++;
            word += text[i++];
          }
          if (i >= text.length) throw loadError(line, 'unterminated quote');
          i++;
        } else if (q === '\\' && i + 1 < text.length) {
          word += text[i + 1];
          i += 2;
        } else word += text[i++];
      }
      out.push({ token: { kind: 'word', text: word }, line });
    }
  }
  out.push({ token: { kind: 'eol' }, line });
  return out;
}

interface TextLine {
  words: string[];
  line: number;
  open: boolean;
  close: boolean;
}

/** Logical lines: `words {` opens a block, `}` closes one, `words` alone is a leaf. */
function splitLines(text: string): TextLine[] {
  const lines: TextLine[] = [];
  let words: string[] = [];
  const flush = (line: number, open: boolean): void => {
    if (words.length > 0 || open) lines.push({ words, line, open, close: false });
    words = [];
  };
  for (const { token, line } of tokenize(text)) {
    if (token.kind === 'word') words.push(token.text);
    else if (token.kind === 'open') flush(line, true);
    else if (token.kind === 'eol') flush(line, false);
    else {
      flush(line, false);
      lines.push({ words: [], line, open: false, close: true });
    }
  }
  return lines;
}

/** The `set` paths described by curly text (each leaf, and each block left empty). */
function curlyPaths(text: string): string[][] {
  const paths: string[][] = [];
  const stack: { words: string[]; children: number }[] = [];
  const prefix = (): string[] => stack.flatMap((f) => f.words);
  for (const l of splitLines(text)) {
    if (l.close) {
      const frame = stack.pop();
      if (!frame) throw loadError(l.line, 'unbalanced "}"');
      if (frame.children === 0) paths.push([...prefix(), ...frame.words]);
      continue;
    }
    if (l.words.length === 0) throw loadError(l.line, 'empty block');
    if (stack.length > 0) stack[stack.length - 1]!.children++;
    if (l.open) stack.push({ words: l.words, children: 0 });
    else paths.push([...prefix(), ...l.words]);
  }
  if (stack.length > 0) throw loadError(splitLines(text).at(-1)?.line ?? 1, 'missing "}"');
  return paths;
}

function commandPaths(text: string): string[][] {
  const paths: string[][] = [];
  let words: string[] = [];
  for (const { token, line } of tokenize(text)) {
    if (token.kind === 'word') words.push(token.text);
    else if (token.kind !== 'eol') throw loadError(line, 'braces in a command line');
    else if (words.length > 0) {
      if (words[0] !== 'set') throw loadError(line, `only "set" commands can be loaded, not "${words[0]}"`);
      paths.push(words.slice(1));
      words = [];
    }
  }
  return paths;
}

/** Parse either text form into the `set` paths it stands for. */
export function parseConfigText(text: string): string[][] {
  const first = tokenize(text).find((t) => t.token.kind !== 'eol');
  const isCommands = first?.token.kind === 'word' && first.token.text === 'set';
  return isCommands ? commandPaths(text) : curlyPaths(text);
}
