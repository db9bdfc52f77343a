/**
 * The config session on a persistent state dir: the running config and the candidate
 * (running.json / candidate.json, shared/spec/vyos.md §2), and the VyOS verbs on them.
 * commit = get_config → verify → generate → apply; everything is computed and checked
 * before the first byte is written, so a rejected commit changes nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { CtsyncError } from '../common/errors.js';
import { apply, engineFor, NO_WATCHER, renderPaths, watcherFor, type EngineAt, type RenderPaths, type Watcher } from './apply.js';
import { writeFileAtomic } from './atomic-file.js';
import { withCommitLock, withCommitLockAsync } from './commit-lock.js';
import { formatCommands, formatCurly, parseConfigText } from './config-text.js';
import { diffLines } from './diff.js';
import type { RenderInputs, RenderedFiles } from './generate.js';
import { getConfig } from './get-config.js';
import { readKernelInterfaces } from './kernel-interfaces.js';
import { checkTree, resolvePath, type ConfigTree, type SchemaNode } from './schema.js';
import { deletePath, getAt, setPath } from './tree.js';
import { verify } from './verify.js';

export const DEFAULT_STATE_DIR = '/var/lib/ctsync';
export const NO_CHANGES = 'No configuration changes to commit';
export const EMPTY_PATH = 'Configuration under specified path is empty';

export interface SessionOptions {
  stateDir: string;
  paths?: RenderPaths;
  /** The sync daemon a commit starts, restarts or stops; ctsyncd by default. */
  engine?: EngineAt;
  /**
   * The failover sync-group's D-Bus watcher; by default `ctsync vrrp-watch`, or none when the
   * engine is given (a session driving a stand-in engine must not start real services).
   */
  watcher?: Watcher;
  /** Where a commit's warnings go (a stale engine lock file). */
  log?: (line: string) => void;
  /** Kernel sizes, interfaces and hook; read live at commit time when absent. */
  renderInputs?: () => RenderInputs;
}

export interface CommitResult {
  changed: boolean;
  files: RenderedFiles;
}

export class ConfigSession {
  readonly stateDir: string;
  private readonly paths: RenderPaths;
  private readonly engine: EngineAt;
  private readonly watcher: Watcher;
  private readonly log: (line: string) => void;
  private readonly renderInputs: (() => RenderInputs) | undefined;

  constructor(opts: SessionOptions) {
    this.stateDir = opts.stateDir;
    this.paths = opts.paths ?? renderPaths();
    this.engine = opts.engine ?? engineFor();
    this.watcher = opts.watcher ?? (opts.engine ? NO_WATCHER : watcherFor());
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.renderInputs = opts.renderInputs;
  }

  private file(name: string): string {
    return path.join(this.stateDir, name);
  }

  private read(name: string): ConfigTree | undefined {
    const file = this.file(name);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ConfigTree;
    } catch (e) {
      throw new CtsyncError('CONFIG_STATE_CORRUPT', `Stored configuration ${file} is not valid JSON`, { cause: e });
    }
  }

  private write(name: string, tree: ConfigTree): void {
    writeFileAtomic(this.file(name), `${JSON.stringify(tree, null, 2)}\n`);
  }

  running(): ConfigTree {
    return this.read('running.json') ?? {};
  }

  /** The candidate is the running config until the first edit. */
  candidate(): ConfigTree {
    return this.read('candidate.json') ?? this.running();
  }

  private edit(change: (tree: ConfigTree) => ConfigTree): void {
    withCommitLock(this.stateDir, () => this.write('candidate.json', change(this.candidate())));
  }

  set(words: string[]): void {
    this.edit((tree) => setPath(tree, words));
  }

  delete(words: string[]): void {
    this.edit((tree) => deletePath(tree, words));
  }

  discard(): void {
    this.edit(() => this.running());
  }

  /** `load`: the file (curly or `set` lines) replaces the candidate. */
  load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new CtsyncError('CONFIG_LOAD_FAILED', `Cannot read ${file}: ${(e as Error).message}`, { cause: e });
    }
    const paths = parseConfigText(text);
    this.edit(() => paths.reduce<ConfigTree>((tree, words) => setPath(tree, words), {}));
  }

  /** `save`: the running config in curly form, to `file` or the state dir's config.boot. */
  save(file?: string): string {
    const target = file ?? this.file('config.boot');
    writeFileAtomic(target, `${formatCurly(this.running())}\n`);
    return target;
  }

  /** `show [path]` (curly) or `show --commands [path]`, on the candidate. */
  show(words: string[], commands: boolean): string {
    const tree = this.candidate();
    if (words.length === 0) return commands ? formatCommands(tree).join('\n') : formatCurly(tree);
    const step = resolvePath(words);
    const sub = getAt(tree, step.nodePath);
    if (sub === undefined) throw new CtsyncError('CONFIG_INVALID_PATH', EMPTY_PATH);
    if (typeof sub === 'string' || Array.isArray(sub) || step.kind === 'valueless') {
      // A leaf: print it as its parent would, limited to this node.
      const name = step.nodePath.at(-1)!;
      const parentStep = resolvePath(step.nodePath.slice(0, -1));
      return this.formatSub({ [name]: sub }, parentStep.node, commands, step.nodePath.slice(0, -1));
    }
    return this.formatSub(sub, step.node, commands, step.nodePath);
  }

  private formatSub(tree: ConfigTree, node: SchemaNode, commands: boolean, prefix: string[]): string {
    return commands ? formatCommands(tree, node, prefix).join('\n') : formatCurly(tree, node);
  }

  /** `compare`: running → candidate, as a line diff of the curly form. */
  compare(): string {
    return diffLines(formatCurly(this.running()), formatCurly(this.candidate()));
  }

  /**
   * `commit [--dry-run]`: validate, verify, render; then (unless dry) write the files and the
   * running config. Serialised by the commit lock.
   */
  async commit(dryRun = false): Promise<CommitResult> {
    const run = async (): Promise<CommitResult> => {
      const candidate = this.candidate();
      const changed = !isDeepStrictEqual(candidate, this.running());
      // VyOS: an unchanged candidate is not committed (nothing verified, nothing rewritten).
      if (!changed && !dryRun) return { changed, files: {} };
      checkTree(candidate);
      const config = getConfig(candidate);
      // Loaded here: handlebars and the templates are for commits only, not for every `ctsync` run.
      const { generate, liveRenderInputs } = await import('./generate.js');
      const inputs = this.renderInputs ? this.renderInputs() : liveRenderInputs(readKernelInterfaces());
      verify(config, inputs.kernel);
      const files = generate(config, inputs);
      if (dryRun) return { changed, files };
      const group = config.vrrp ? config.conntrackSync?.failoverSyncGroup : undefined;
      const target = group === undefined ? undefined : { group, keepalivedConf: this.paths.keepalivedConf };
      await apply(files, this.paths, this.engine, this.log, { watcher: this.watcher, target });
      this.write('running.json', candidate);
      return { changed, files };
    };
    return dryRun ? run() : withCommitLockAsync(this.stateDir, run);
  }
}
