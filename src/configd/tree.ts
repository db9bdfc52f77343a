/**
 * Edits of a stored config tree along a CLI path (VyOS `set` / `delete` / `show <path>`).
 * Pure functions: they return a new tree and never touch disk.
 */
import { CtsyncError } from '../common/errors.js';
import { checkTree, invalidPath, resolvePath, type ConfigTree } from './schema.js';

type TreeValue = ConfigTree[string];

function clone(tree: ConfigTree): ConfigTree {
  return structuredClone(tree);
}

/** The subtree (or leaf value) at `nodePath`, or undefined. */
export function getAt(tree: ConfigTree, nodePath: string[]): TreeValue | undefined {
  let cur: TreeValue | undefined = tree;
  for (const word of nodePath) {
    if (cur === undefined || typeof cur === 'string' || Array.isArray(cur)) return undefined;
    cur = cur[word];
  }
  return cur;
}

/** `set <words>`: returns the edited tree, validated against the schema. */
export function setPath(tree: ConfigTree, words: string[]): ConfigTree {
  const step = resolvePath(words);
  if ((step.kind === 'leaf' || step.kind === 'multi') && step.value === undefined) {
    throw new CtsyncError('CONFIG_INVALID_PATH', `Configuration path: [${words.join(' ')}] requires a value`);
  }
  if (step.kind === 'tagNode') {
    throw new CtsyncError('CONFIG_INVALID_PATH', `Configuration path: [${words.join(' ')}] requires a value`);
  }
  const next = clone(tree);
  let cur = next;
  const parents = step.nodePath.slice(0, -1);
  for (const word of parents) {
    const child = cur[word];
    if (child === undefined) cur[word] = {};
    cur = cur[word] as ConfigTree;
  }
  const last = step.nodePath[step.nodePath.length - 1];
  if (last === undefined) throw invalidPath(words);
  if (step.kind === 'leaf') cur[last] = step.value!;
  else if (step.kind === 'multi') {
    const values = (cur[last] as string[] | undefined) ?? [];
    // A multi leaf keeps its values in the order they were set; setting one again is a no-op.
    cur[last] = values.includes(step.value!) ? values : [...values, step.value!];
  } else if (cur[last] === undefined) cur[last] = {};
  checkTree(next);
  return next;
}

const NOTHING = 'Nothing to delete (the specified node does not exist)';

/**
 * `delete <words>`: a node, a tag, a leaf, or one value of a multi leaf. Parents stay: a tag
 * entry or `service conntrack-sync` without children is still configured (presence nodes).
 */
export function deletePath(tree: ConfigTree, words: string[]): ConfigTree {
  const step = resolvePath(words);
  const existing = getAt(tree, step.nodePath);
  if (existing === undefined || step.nodePath.length === 0) throw new CtsyncError('CONFIG_INVALID_PATH', NOTHING);
  const next = clone(tree);
  const parent = getAt(next, step.nodePath.slice(0, -1)) as ConfigTree;
  const last = step.nodePath[step.nodePath.length - 1]!;
  if (step.value !== undefined) {
    const values = typeof existing === 'string' ? [existing] : Array.isArray(existing) ? existing : [];
    if (!values.includes(step.value)) throw new CtsyncError('CONFIG_INVALID_PATH', NOTHING);
    const rest = values.filter((v) => v !== step.value);
    if (Array.isArray(existing) && rest.length > 0) parent[last] = rest;
    else delete parent[last];
  } else {
    delete parent[last];
  }
  return next;
}
