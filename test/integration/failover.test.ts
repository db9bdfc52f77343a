/**
 * Issue 6, "Done means": fail-over without resets, end to end (test/helpers/failover-lab.ts).
 * Two firewalls configured through `ctsync commit` (ctsyncd and `ctsync vrrp-watch` started by
 * the commit), real keepalived and D-Bus, 100k background flows and 100 long-lived TCP
 * connections through the VIPs, half of them sending all the time. Four fail-overs, each
 * checked for: every connection alive, no RST on the wire, the transition run once, the state
 * file and `show conntrack-sync status`:
 * 1. graceful, both paths wired (notify lines and D-Bus watcher);
 * 2. fail-back to fw1 restarted with an empty external cache: its track file keeps it from
 *    pre-empting until its resync is in; keepalived restarted;
 * 3. link-down of fw1, D-Bus path alone (fw2's keepalived restarted without its notify lines);
 * 4. fw1 back, notify path alone (fw1's watcher killed, its keepalived restarted).
 * Timings are printed, not asserted (figures come from `npm run bench:failover`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverLab, PROGRAMS, type Firewall, type FlowCheck } from '../helpers/failover-lab.js';
import { skipNote, skipReason, waitFor } from '../helpers/netns.js';

const reason = skipReason(PROGRAMS);
const N = 100_000;
const M = 100;

describe.skipIf(reason !== '')(`fail-over without resets: ${N} flows + ${M} connections, ctsyncd + keepalived + D-Bus${skipNote(reason)}`, () => {
  let lab: FailoverLab;

  beforeAll(async () => {
    lab = await FailoverLab.create({ engine: 'ctsyncd', flows: N, connections: M, log: (l) => console.log(l) });
  }, 180_000);
  afterAll(() => lab?.close());

  /** Every connection answers; none was reset or closed; no RST crossed the wire. */
  async function expectAllAlive(): Promise<FlowCheck> {
    const c = await lab.checkFlows();
    expect(c).toMatchObject({ ok: M, fail: 0, errors: 0, closed: 0, rst: { client: 0, server: 0 } });
    return c;
  }

  /** The MASTER transitions the box ran since `t0` (a second reporter only logs that it was handled). */
  const masterRuns = (fw: Firewall, t0: number) => fw.logged(/transitioning to MASTER state for VRRP sync-group \[G1\]/, t0).length;
  const fromDbus = (fw: Firewall, t0: number) => fw.logged(/VRRP sync-group \[G1\] is MASTER \(from D-Bus\)/, t0).length;
  const secondReport = (fw: Firewall, t0: number) => fw.logged(/MASTER for VRRP sync-group \[G1\] (already handled|reported after)/, t0).length;

  /** The state file and `show conntrack-sync status` say MASTER since `t0`. */
  function expectStatus(fw: Firewall, state: 'MASTER' | 'BACKUP'): void {
    const line = fw.stateFile();
    expect(line).toMatch(new RegExp(`^${state} at `));
    const status = fw.ctsync('show', 'conntrack-sync', 'status');
    expect(status.stdout).toContain(`last state transition : ${line}`);
    expect(status.stdout).toContain('failover-mechanism    : vrrp [sync-group G1]');
  }

  const report = (what: string, o: object) => console.log(`${what}: ${JSON.stringify(o)}`);

  it('1. graceful, notify lines and watcher both wired: fw2 takes over once; no connection lost, no RST', async () => {
    await expectAllAlive();
    const t0 = Date.now();
    const timing = await lab.failover('graceful');
    const flows = await expectAllAlive();
    // the slower reporter (usually the notify hook: a node process) finds it done
    expect(await waitFor(() => secondReport(lab.fw2, t0) === 1, 20_000)).toBe(true);
    expect(masterRuns(lab.fw2, t0)).toBe(1);
    expect(fromDbus(lab.fw2, t0)).toBe(1);
    expect(lab.fw2.vips()).toBe(2);
    expect(lab.fw2.kernelCount()).toBeGreaterThanOrEqual(N + M);
    expect(lab.fw2.ns.run('nft', ['list', 'tables'])).not.toContain('ctsync_guard');
    expectStatus(lab.fw2, 'MASTER');
    report('graceful fail-over (both paths)', { ...timing, maxStallMs: flows.maxStallMs });
  }, 90_000);

  it('2. fail-back: fw1, restarted with an empty cache, does not pre-empt before its resync is in', async () => {
    // fw1's engine starts afresh (as after a reboot): nothing in its external cache, and nothing
    // fw2 still owes the old one (the take-over's bulk send, on a loaded machine) to be resent
    expect(await waitFor(() => lab.fw2.inFlight() === 0, 30_000, 250)).toBe(true);
    expect(lab.fw1.client('-k').status).toBe(0);
    expect(await waitFor(() => lab.fw1.client('-s').status !== 0, 10_000)).toBe(true);
    expect(await lab.fw1.startEngine()).toBe(true);
    expect(lab.fw1.trackFile()).toBe('-253');
    expect(lab.fw1.externalCount()).toBe(0);

    let vipsBeforeReady = 0;
    let readyAt = 0;
    const watch = setInterval(() => {
      if (!readyAt && lab.fw1.trackFile() === '0') readyAt = Date.now();
      if (!readyAt) vipsBeforeReady = Math.max(vipsBeforeReady, lab.fw1.vips());
    }, 50);
    const t0 = Date.now();
    let failBackMs: number;
    try {
      failBackMs = await lab.failBack('graceful'); // keepalived restarted on fw1
    } finally {
      clearInterval(watch);
    }
    expect(readyAt).toBeGreaterThan(0);
    expect(vipsBeforeReady).toBe(0);
    // demoted by the track file (150 - 253, keepalived's floor), then restored
    expect(lab.fw1.keepalivedLog).toMatch(/Changing effective priority from 150 to 1\b/);
    // its commit put back everything its resync had brought
    const committed = lab.fw1.logged(/Committed \d+ new entries/, t0).map((l) => Number(/Committed (\d+)/.exec(l.text)![1]));
    expect(committed).toHaveLength(1);
    expect(committed[0]).toBeGreaterThanOrEqual(N + M);
    const flows = await expectAllAlive();
    expect(masterRuns(lab.fw1, t0)).toBe(1);
    expectStatus(lab.fw1, 'MASTER');
    report('fail-back to fw1 after its resync', { readyAfterMs: readyAt - t0, failBackMs, maxStallMs: flows.maxStallMs });
  }, 120_000);

  it('3. link-down, D-Bus path alone: the watcher runs the take-over; no connection lost, no RST', async () => {
    await lab.restartKeepalived(lab.fw2, { notify: false });
    const t0 = Date.now();
    const timing = await lab.failover('linkdown');
    const flows = await expectAllAlive();
    expect(masterRuns(lab.fw2, t0)).toBe(1);
    expect(fromDbus(lab.fw2, t0)).toBe(1);
    expect(lab.fw2.logged(/ctsync vrrp-hook invoked/, t0)).toHaveLength(1); // the watcher's run, in-process
    expectStatus(lab.fw2, 'MASTER');
    report('link-down fail-over (D-Bus only)', { ...timing, maxStallMs: flows.maxStallMs });
  }, 120_000);

  it('4. notify path alone: with its watcher dead, fw1 takes back over through the notify hook', async () => {
    const watcher = lab.fw1.watcherPid();
    expect(watcher).toBeGreaterThan(0);
    process.kill(watcher!, 'SIGKILL');
    // keepalived restarted while fw1's links are still down (it comes up in FAULT)
    await lab.fw1.stopKeepalived();
    lab.fw1.startKeepalived();
    const t0 = Date.now();
    const failBackMs = await lab.failBack('linkdown');
    const flows = await expectAllAlive();
    expect(masterRuns(lab.fw1, t0)).toBe(1);
    expect(fromDbus(lab.fw1, t0)).toBe(0);
    expectStatus(lab.fw1, 'MASTER');
    expect(await waitFor(() => lab.fw2.stateFile()?.startsWith('BACKUP'), 20_000)).toBe(true);
    expectStatus(lab.fw2, 'BACKUP');
    report('fail-back to fw1 (notify only)', { failBackMs, maxStallMs: flows.maxStallMs });
  }, 120_000);
});
