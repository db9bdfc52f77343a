/**
 * The daemon's control socket end to end: two engines synced over the in-memory link, B's
 * ControlServer answering conntrackd's requests from B's engine (shared/spec/conntrackd.md
 * §5): our client and, where installed, the real `conntrackd -C conf -s` as the client.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestText } from '../../../src/engine/control/client.js';
import { REQUEST } from '../../../src/engine/control/requests.js';
import { ControlServer } from '../../../src/engine/control/server.js';
import { EngineControlHandler } from '../../../src/engine/daemon/control-handler.js';
import { hasProgram } from '../../helpers/netns.js';
import { enginePair, settle, tcpFlow, type Side } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ctsync-ctl-'));
const path = join(dir, 'ctl');
let pair: ReturnType<typeof enginePair>;
let server: ControlServer;
let killed = 0;

beforeAll(async () => {
  pair = enginePair('FTFW');
  await pair.a.engine.start();
  await pair.b.engine.start();
  for (let i = 1; i <= 3; i++) await pair.a.tool.create(tcpFlow(i, { mark: i }));
  await settle(pair.sched, 300);
  server = new ControlServer({ path, handler: new EngineControlHandler(pair.b.engine), onKill: () => killed++ });
  await server.listen();
});

/** The engines run on a fake clock: keep it moving while a request is answered. */
async function pumped<T>(work: Promise<T>): Promise<T> {
  let done = false;
  const p = work.finally(() => {
    done = true;
  });
  while (!done) await settle(pair.sched, 50);
  return p;
}

const ask = (code: number): Promise<string> => pumped(requestText(path, code));

afterAll(async () => {
  await server.close();
  for (const s of [pair.a, pair.b] as Side[]) await s.engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('EngineControlHandler behind the ControlServer', () => {
  it('-s shows the external cache filled by the peer', async () => {
    const text = await ask(REQUEST.STATS);
    expect(text).toMatch(/^cache internal:\ncurrent active connections:\s+0\n/);
    expect(text).toMatch(/cache external:\ncurrent active connections:\s+3\n/);
    expect(text).toContain('message tracking:');
  });

  it('-e lists the peer flows with their original tuple and active-since suffix', async () => {
    const lines = (await ask(REQUEST.CT_DUMP_EXTERNAL)).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/^tcp {6}6 ESTABLISHED src=10\.1\.0\.\d dst=10\.0\.2\.10 sport=\d+ dport=80 .*\[active since \d+s\]$/);
  });

  it('-c commits into the kernel; the JSON dump and stats are structured', async () => {
    await ask(REQUEST.ALL_COMMIT);
    expect(await pair.b.tool.count()).toBe(3);
    const stats = JSON.parse(await ask(REQUEST.JSON_STATS));
    expect(stats).toMatchObject({ mode: 'FTFW', external: { kind: 'cache', stats: { active: 3 } } });
    // No ExpectationSync: no expectation caches (as `-s expect` answers nothing).
    expect(stats).not.toHaveProperty('expect');
    const dump = JSON.parse(await ask(REQUEST.JSON_CT_DUMP_EXTERNAL));
    expect(dump.entries.map((e: { object: { mark: number } }) => e.object.mark).sort()).toEqual([1, 2, 3]);
  });

  it('-s expect answers nothing without ExpectationSync; KILL reaches the daemon', async () => {
    expect(await ask(REQUEST.EXP_STATS)).toBe('');
    await ask(REQUEST.KILL);
    expect(killed).toBe(1);
  });

  it.skipIf(!hasProgram('conntrackd'))(`the real conntrackd client prints our -s text unchanged${hasProgram('conntrackd') ? '' : ' (skipped: conntrackd is not installed)'}`, async () => {
    const conf = join(dir, 'client.conf');
    writeFileSync(conf, `General {\n\tLockFile ${join(dir, 'lock')}\n\tUNIX {\n\t\tPath ${path}\n\t}\n}\n`);
    const ours = await ask(REQUEST.STATS_NETWORK);
    const r = await pumped(promisify(execFile)('conntrackd', ['-C', conf, '-s', 'network'], { encoding: 'utf8' }));
    expect(r.stdout).toBe(ours);
  });
});
