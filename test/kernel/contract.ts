/**
 * The KernelTable contract: the same cases run against every implementation
 * (contract.test.ts: memory always, netlink in a fresh namespace).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IPPROTO, IPS, TCP_STATE, type Conntrack, type CtEvent, type CtTuple, type ExpEvent, type Expectation } from '../../src/engine/model/conntrack.js';
import type { CtKey, KernelTable } from '../../src/engine/kernel/kernel-table.js';
import { ERRNO } from '../../src/engine/kernel/kernel-error.js';
import { waitFor } from '../helpers/netns.js';
import { onEvents } from '../helpers/records.js';

/** Another process changing the same table (conntrack(8) for the kernel). */
export interface OtherProcess {
  create(ct: Conntrack): void;
  delete(key: CtKey): void;
}

export interface ContractTarget {
  table: KernelTable;
  other: OtherProcess;
  close(): Promise<void>;
}

const FAMILIES = {
  ipv4: { src: '192.0.2.1', dst: '198.51.100.7', nat: '203.0.113.9' },
  ipv6: { src: '2001:db8::1', dst: '2001:db8:0:1::7', nat: '2001:db8:ffff::9' },
} as const;

let port = 20000;
function tuple(l3: 'ipv4' | 'ipv6', proto: number): CtTuple {
  const a = FAMILIES[l3];
  if (proto === IPPROTO.ICMP || proto === IPPROTO.ICMPV6) {
    return { l3, src: a.src, dst: a.dst, proto, icmpType: proto === IPPROTO.ICMP ? 8 : 128, icmpCode: 0, icmpId: port++ };
  }
  return { l3, src: a.src, dst: a.dst, proto, sport: port++, dport: 443 };
}

function protoInfo(proto: number): Partial<Conntrack> {
  if (proto === IPPROTO.TCP) return { tcp: { state: TCP_STATE.ESTABLISHED } };
  if (proto === IPPROTO.SCTP) return { sctp: { state: 3, vtagOrig: 0x1234, vtagRepl: 0x5678 } };
  return {};
}

/** Events collected from one subscription. */
function collect(table: KernelTable) {
  const events: CtEvent[] = [];
  const sub = table.subscribe({ onRecords: onEvents((e) => events.push(...e)) });
  return { events, sub };
}

const same = (a: CtTuple, b: CtTuple) => expect(a).toEqual(b);

export function kernelTableContract(name: string, open: () => Promise<ContractTarget>): void {
  describe(`KernelTable contract: ${name}`, () => {
    let t: ContractTarget;
    beforeAll(async () => {
      t = await open();
    });
    afterAll(async () => {
      await t?.close();
    });

    for (const l3 of ['ipv4', 'ipv6'] as const) {
      for (const [pname, proto] of [
        ['tcp', IPPROTO.TCP],
        ['udp', IPPROTO.UDP],
        ['icmp', l3 === 'ipv4' ? IPPROTO.ICMP : IPPROTO.ICMPV6],
        ['sctp', IPPROTO.SCTP],
      ] as const) {
        test(`create/get/update/delete ${pname} over ${l3}`, async () => {
          const orig = tuple(l3, proto);
          const ct: Conntrack = { orig, timeout: 120, status: IPS.SEEN_REPLY, mark: 7, ...protoInfo(proto) };
          await t.table.create(ct);
          const got = await t.table.get({ orig });
          expect(got).toBeDefined();
          same(got!.orig, orig);
          // The reply tuple is the mirror of orig (ICMP echo request -> echo reply).
          expect(got!.reply!.src).toBe(orig.dst);
          expect(got!.reply!.dst).toBe(orig.src);
          if (orig.sport !== undefined) expect([got!.reply!.sport, got!.reply!.dport]).toEqual([orig.dport, orig.sport]);
          else expect(got!.reply!.icmpType).toBe(proto === IPPROTO.ICMP ? 0 : 129);
          expect(got!.status! & (IPS.SEEN_REPLY | IPS.CONFIRMED)).toBe(IPS.SEEN_REPLY | IPS.CONFIRMED);
          expect(got!.mark).toBe(7);
          expect(got!.timeout).toBeGreaterThan(100);
          expect(got!.timeout).toBeLessThanOrEqual(120);
          if (proto === IPPROTO.TCP) expect(got!.tcp?.state).toBe(TCP_STATE.ESTABLISHED);
          if (proto === IPPROTO.SCTP) expect(got!.sctp?.state).toBe(3);
          // The reply tuple finds the same entry, as in the kernel.
          expect((await t.table.get({ orig: got!.reply! }))?.orig).toEqual(orig);

          await t.table.update({ orig, timeout: 30, mark: 9, status: IPS.SEEN_REPLY | IPS.ASSURED });
          const upd = await t.table.get({ orig });
          expect(upd!.mark).toBe(9);
          expect(upd!.timeout).toBeLessThanOrEqual(30);
          expect(upd!.status! & IPS.ASSURED).toBe(IPS.ASSURED);

          await t.table.delete({ orig });
          expect(await t.table.get({ orig })).toBeUndefined();
        });
      }

      test(`SNAT and DNAT with ports over ${l3}`, async () => {
        const a = FAMILIES[l3];
        const sorig = tuple(l3, IPPROTO.TCP);
        await t.table.create({ orig: sorig, timeout: 60, snat: { addr: a.nat, port: 40000 }, ...protoInfo(IPPROTO.TCP) });
        const s = await t.table.get({ orig: sorig });
        expect(s!.reply).toMatchObject({ src: sorig.dst, dst: a.nat, sport: sorig.dport, dport: 40000 });
        expect(s!.status! & (IPS.SRC_NAT | IPS.SRC_NAT_DONE)).toBe(IPS.SRC_NAT | IPS.SRC_NAT_DONE);
        expect(s!.snat).toEqual({ addr: a.nat, port: 40000 });
        expect(s!.dnat).toBeUndefined();

        const dorig = tuple(l3, IPPROTO.UDP);
        await t.table.create({ orig: dorig, timeout: 60, dnat: { addr: a.nat, port: 8053 } });
        const d = await t.table.get({ orig: dorig });
        expect(d!.reply).toMatchObject({ src: a.nat, dst: dorig.src, sport: 8053, dport: dorig.sport });
        expect(d!.dnat).toEqual({ addr: a.nat, port: 8053 });
        // NAT cannot change on update (stripped, spec §1.11): the update still succeeds.
        await t.table.update({ orig: dorig, timeout: 50, status: IPS.DST_NAT });
        expect((await t.table.get({ orig: dorig }))!.dnat).toEqual({ addr: a.nat, port: 8053 });
        await t.table.deleteBatch([{ orig: sorig }, { orig: dorig }]);
      });
    }

    test('zone keeps otherwise equal tuples apart', async () => {
      const orig = tuple('ipv4', IPPROTO.UDP);
      await t.table.create({ orig, timeout: 60 });
      await t.table.create({ orig, timeout: 60, zone: 5 });
      expect((await t.table.get({ orig, zone: 5 }))!.zone).toBe(5);
      expect((await t.table.get({ orig }))!.zone).toBeUndefined();
      await t.table.delete({ orig, zone: 5 });
      expect(await t.table.get({ orig, zone: 5 })).toBeUndefined();
      expect(await t.table.get({ orig })).toBeDefined();
      await t.table.delete({ orig });
    });

    test('labels are stored and read back', async () => {
      const orig = tuple('ipv4', IPPROTO.TCP);
      await t.table.create({ orig, timeout: 60, labels: [0x5, 0, 0x80000000, 0], ...protoInfo(IPPROTO.TCP) });
      expect((await t.table.get({ orig }))!.labels).toEqual([0x5, 0, 0x80000000, 0]);
      await t.table.update({ orig, labels: [0x2, 0, 0, 0] });
      expect((await t.table.get({ orig }))!.labels).toEqual([0x2, 0, 0, 0]);
      await t.table.delete({ orig });
    });

    test('EEXIST and ENOENT', async () => {
      const orig = tuple('ipv4', IPPROTO.TCP);
      await t.table.create({ orig, timeout: 60 });
      await expect(t.table.create({ orig, timeout: 60 })).rejects.toMatchObject({ code: 'KERNEL_EXISTS' });
      const missing = tuple('ipv4', IPPROTO.TCP);
      expect(await t.table.get({ orig: missing })).toBeUndefined();
      await expect(t.table.update({ orig: missing, timeout: 5 })).rejects.toMatchObject({ code: 'KERNEL_NOT_FOUND' });
      await expect(t.table.delete({ orig: missing })).rejects.toMatchObject({ code: 'KERNEL_NOT_FOUND' });
      await t.table.delete({ orig });
    });

    test('batches answer one result per item', async () => {
      const cts = Array.from({ length: 300 }, () => ({ orig: tuple('ipv6', IPPROTO.UDP), timeout: 60 }));
      const dup = cts[10]!;
      const created = await t.table.createBatch([...cts, dup, { orig: tuple('ipv4', IPPROTO.UDP) }]);
      expect([...created.slice(0, 300)].every((r) => r === 0)).toBe(true);
      expect(created[300]).toBe(ERRNO.EEXIST);
      expect(created[301]).toBe(ERRNO.EINVAL); // no timeout
      const updated = await t.table.updateBatch([{ orig: cts[0]!.orig, timeout: 10 }, { orig: tuple('ipv6', IPPROTO.UDP), timeout: 10 }]);
      expect([...updated]).toEqual([0, ERRNO.ENOENT]);
      const deleted = await t.table.deleteBatch([...cts, dup]);
      expect([...deleted.slice(0, 300)].every((r) => r === 0)).toBe(true);
      expect(deleted[300]).toBe(ERRNO.ENOENT);
    });

    test('dump, shortenTimeouts and flush', async () => {
      await t.table.flush();
      const cts = Array.from({ length: 2500 }, (_, i) => ({ orig: tuple('ipv4', IPPROTO.TCP), timeout: i < 2000 ? 600 : 20 }));
      expect([...(await t.table.createBatch(cts))].every((r) => r === 0)).toBe(true);
      let dumped: Conntrack[] = [];
      await t.table.dump((b) => (dumped = dumped.concat(b)));
      expect(dumped.length).toBe(2500);
      expect(new Set(dumped.map((c) => c.orig.sport)).size).toBe(2500);
      expect(await t.table.count()).toBe(2500);
      expect(await t.table.shortenTimeouts(30)).toBe(2000);
      expect((await t.table.get({ orig: cts[0]!.orig }))!.timeout).toBeLessThanOrEqual(30);
      await t.table.flush();
      expect(await t.table.count()).toBe(0);
    });

    test('timeouts expire', async () => {
      const orig = tuple('ipv4', IPPROTO.UDP);
      await t.table.create({ orig, timeout: 1 });
      expect(await waitFor(async () => (await t.table.get({ orig })) === undefined, 5000, 200)).toBe(true);
    });

    test('expectations: create, get, dump, events, delete, flush, gone with their master', async () => {
      const expEvents: ExpEvent[] = [];
      const sub = t.table.subscribe({ expectations: true, events: {}, onRecords: onEvents(() => {}, (e) => expEvents.push(...e)) });
      try {
        // An expectation needs a master with a helper (the kernel keeps it in the helper's
        // extension); the ftp helper allows one expectation per master.
        const expected = async (dport: number): Promise<Expectation> => {
          const master: CtTuple = { ...tuple('ipv4', IPPROTO.TCP), dport: 21 };
          await t.table.create({ orig: master, timeout: 300, status: IPS.SEEN_REPLY | IPS.ASSURED, helper: 'ftp', ...protoInfo(IPPROTO.TCP) });
          expect((await t.table.get({ orig: master }))!.helper).toBe('ftp');
          return {
            master,
            tuple: { l3: 'ipv4', src: master.dst, dst: master.src, proto: IPPROTO.TCP, sport: 0, dport },
            mask: { l3: 'ipv4', src: '255.255.255.255', dst: '255.255.255.255', proto: IPPROTO.TCP, sport: 0, dport: 0xffff },
            timeout: 300,
          };
        };
        const e1 = await expected(50001);
        await t.table.createExpectation(e1);
        const got = await t.table.getExpectation({ tuple: e1.tuple });
        expect(got).toMatchObject({ master: e1.master, tuple: e1.tuple, helper: 'ftp' });
        expect(got!.timeout).toBeGreaterThan(0);
        await t.table.createExpectation(await expected(50002));
        let dumped: Expectation[] = [];
        await t.table.dumpExpectations((b) => (dumped = dumped.concat(b)));
        expect(dumped.map((x) => x.tuple.dport).sort()).toEqual([50001, 50002]);
        await t.table.deleteExpectation({ tuple: e1.tuple });
        expect(await t.table.getExpectation({ tuple: e1.tuple })).toBeUndefined();
        await t.table.flushExpectations();
        dumped = [];
        await t.table.dumpExpectations((b) => (dumped = dumped.concat(b)));
        expect(dumped).toEqual([]);
        const e3 = await expected(50003);
        await t.table.createExpectation(e3);
        await t.table.delete({ orig: e3.master });
        expect(await t.table.getExpectation({ tuple: e3.tuple })).toBeUndefined();
        await waitFor(() => expEvents.filter((e) => e.type === 'destroy').length >= 3, 3000);
        expect(expEvents.filter((e) => e.type === 'new').map((e) => e.exp.tuple.dport)).toEqual([50001, 50002, 50003]);
        expect(expEvents.filter((e) => e.type === 'new').every((e) => t.table.portIds().includes(e.portId))).toBe(true);
        expect(expEvents.filter((e) => e.type === 'destroy').map((e) => e.exp.tuple.dport).sort()).toEqual([50001, 50002, 50003]);
      } finally {
        sub.close();
      }
    });

    test('events carry the requester port id, for our changes and for another process', async () => {
      const { events, sub } = collect(t.table);
      try {
        const mine = tuple('ipv4', IPPROTO.TCP);
        await t.table.create({ orig: mine, timeout: 60, ...protoInfo(IPPROTO.TCP) });
        await t.table.update({ orig: mine, timeout: 50 });
        await t.table.delete({ orig: mine });
        const theirs = tuple('ipv4', IPPROTO.UDP);
        t.other.create({ orig: theirs, timeout: 60 });
        t.other.delete({ orig: theirs });
        await waitFor(() => events.filter((e) => e.ct.orig.sport === theirs.sport).length >= 2, 5000);
        const own = events.filter((e) => e.ct.orig.sport === mine.sport);
        expect(own.map((e) => e.type)).toEqual(['new', 'update', 'destroy']);
        expect(own.every((e) => t.table.portIds().includes(e.portId))).toBe(true);
        expect(own[0]!.ct.tcp?.state).toBe(TCP_STATE.ESTABLISHED);
        const other = events.filter((e) => e.ct.orig.sport === theirs.sport);
        expect(other.map((e) => e.type)).toEqual(['new', 'destroy']);
        expect(other.every((e) => !t.table.portIds().includes(e.portId))).toBe(true);
        expect(other[0]!.ct.orig).toEqual(theirs);
      } finally {
        sub.close();
      }
    });
  });
}
