/**
 * Readiness through keepalived's track_file (shared/spec/anchors.md §1.2, what pfsync does
 * with CARP demotion): fw2 is master; fw1 (higher priority) comes back with an empty external
 * cache, so its ReadinessTracker writes the demotion and fw1 must not pre-empt; once its
 * resync completes the file reads 0 and fw1 takes over. Real keepalived 2.2.7, one sync group
 * of two instances (track_file weights in a sync group need sync_group_tracking_weight).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, Netns, skipNote, skipReason, veth, waitFor } from '../helpers/netns.js';
import { ReadinessTracker } from '../../src/engine/daemon/track-file.js';

const reason = skipReason(['keepalived']);

function keepalivedConf(node: string, prio: number, trackFile?: string): string {
  const track = trackFile ? '    track_file {\n        ctsync_ready weight 1\n    }\n' : '';
  const instance = (name: string, ifname: string, vrid: number, vip: string) => `
vrrp_instance ${name} {
    state BACKUP
    interface ${ifname}
    virtual_router_id ${vrid}
    priority ${prio}
    advert_int 1
${track}    virtual_ipaddress {
        ${vip}/24 dev ${ifname}
    }
}
`;
  return `global_defs {
    router_id ${node}
}
${trackFile ? `vrrp_track_file ctsync_ready {\n    file ${trackFile}\n}\n` : ''}vrrp_sync_group G1 {
    group {
        VI_LAN
        VI_WAN
    }
    sync_group_tracking_weight
}
${instance('VI_LAN', 'lan0', 71, '10.213.1.254')}${instance('VI_WAN', 'wan0', 72, '10.213.3.254')}`;
}

describe.skipIf(reason !== '')(`readiness via keepalived track_file${skipNote(reason)}`, () => {
  let dir: string;
  let fw1: Netns;
  let fw2: Netns;
  const ka: ChildProcess[] = [];
  const vips = (n: Netns) => n.run('ip', ['-4', '-br', 'addr']).match(/10\.213\.[13]\.254/g)?.length ?? 0;

  const logs = new Map<string, string[]>();
  const start = (n: Netns, node: string) => {
    const c = n.spawn('keepalived', ['-n', '-l', '-D', '-P', '-f', join(dir, `${node}.conf`), '-p', join(dir, `${node}.pid`), '-r', join(dir, `${node}.vrrp.pid`)]);
    logs.set(node, []);
    for (const out of [c.stdout!, c.stderr!]) out.on('data', (d: Buffer) => logs.get(node)!.push(d.toString()));
    ka.push(c);
  };
  const log = (node: string) => logs.get(node)!.join('');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctsync-ready-'));
    fw1 = new Netns('rd1');
    fw2 = new Netns('rd2');
    veth(fw1, 'lan0', fw2, 'lan0');
    veth(fw1, 'wan0', fw2, 'wan0');
    for (const [n, i] of [[fw1, 1], [fw2, 2]] as const) {
      n.addr('lan0', `10.213.1.${i}/24`);
      n.addr('wan0', `10.213.3.${i}/24`);
    }
    await writeFile(join(dir, 'fw1.conf'), keepalivedConf('fw1', 150, join(dir, 'fw1-ready')));
    await writeFile(join(dir, 'fw2.conf'), keepalivedConf('fw2', 100));
  });
  afterAll(async () => {
    for (const c of ka) c.kill('SIGTERM');
    await cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a node awaiting its resync does not pre-empt; once in sync it does', async () => {
    start(fw2, 'fw2');
    expect(await waitFor(() => vips(fw2) === 2, 10_000)).toBe(true);

    // fw1 restarts with an empty cache: the engine's tracker demotes it before keepalived starts
    const tracker = new ReadinessTracker(join(dir, 'fw1-ready'), { demotion: 100, maxWaitMs: 60_000 });
    expect((await tracker.start()).reason).toBe('awaiting-resync');
    start(fw1, 'fw1');
    await new Promise((r) => setTimeout(r, 5000)); // beyond fw1's master-down interval (3 × 1 s + skew)
    expect([vips(fw1), vips(fw2)]).toEqual([0, 2]);
    // demoted, not faulted: keepalived applied the weight (150 - 100 = 50 < 100)
    expect(log('fw1')).toMatch(/\(VI_LAN\) Entering BACKUP STATE/);
    expect(log('fw1')).toMatch(/\(VI_LAN\) Changing effective priority from 150 to 50/);
    expect(log('fw1')).not.toMatch(/FAULT/);

    const t0 = Date.now();
    expect((await tracker.resyncComplete()).value).toBe(0);
    expect(await waitFor(() => vips(fw1) === 2, 10_000)).toBe(true);
    console.log(`fw1 pre-empted ${Date.now() - t0} ms after its track file read 0`);
    tracker.stop();
  });
});
