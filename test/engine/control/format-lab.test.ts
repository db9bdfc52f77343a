/**
 * Byte-for-byte check of the formatters against what the real conntrackd 1.4.7 printed in
 * the lab (shared/lab/outputs/*): the counters and objects each output implies are read back
 * from it, formatted by our code, and the text must be identical.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatCacheStats,
  formatConntrackLine,
  formatConntrackXml,
  formatLinkStats,
  formatNetworkStats,
  formatProcessStats,
  formatQueueStats,
  formatRsQueue,
  formatRuntimeStats,
  formatSyncStats,
} from '../../../src/engine/control/format.js';
import type { Conntrack, CtTuple } from '../../../src/engine/model/conntrack.js';
import { IPS, TCP_STATE_NAMES } from '../../../src/engine/model/conntrack.js';
import type { CacheStats, LinkStats, QueueStats, RsQueueEntry, RuntimeStats } from '../../../src/engine/stats.js';

/** The lab beside the clone (../shared), as CI places it. */
const ROOT = fileURLToPath(new URL('../../../../shared/lab/outputs', import.meta.url));
const dirs = existsSync(ROOT) ? readdirSync(ROOT).filter((d) => existsSync(`${ROOT}/${d}/fw1_s.txt`)) : [];

/** The reply text: the file minus the `# command` line and the `# exit status` trailer. */
function reply(file: string): string {
  const text = readFileSync(file, 'utf8');
  return text.replace(/^# .*\n/, '').replace(/# exit status: \d+\n?$/, '');
}

const nums = (text: string): number[] => [...text.matchAll(/\d+/g)].map((m) => Number(m[0]));

function cacheFromSummary(block: string): CacheStats {
  const [active, created, createdFailed, updated, updatedFailed, destroyed, destroyedFailed] = nums(block);
  return { active: active!, total: active!, createdOk: created!, createdFailed: createdFailed!, noMemory: 0, noSpace: 0, updatedOk: updated!, updatedFailed: updatedFailed!, updateNotFound: 0, deletedOk: destroyed!, deletedFailed: destroyedFailed!, deleteNotFound: 0 };
}

function linkFrom(head: string, counters: string, active = true): LinkStats {
  const kind = head.startsWith('multicast') ? 'multicast' : head.startsWith('UDP') ? 'UDP' : 'TCP';
  const device = /device=([^ ):]+)/.exec(head)![1]!;
  const status = (/status=([A-Z-]+)/.exec(head)?.[1] ?? 'RUNNING') as LinkStats['status'];
  const [bs, br, ps, pr, es, er] = nums(counters).map(BigInt);
  return { kind, device, status, active, bytesSent: bs!, bytesRecv: br!, packetsSent: ps!, packetsRecv: pr!, errorSend: es!, errorRecv: er! };
}

function tuple(words: Map<string, string>[], i: number): CtTuple {
  const w = words[i]!;
  return { l3: 'ipv4', src: w.get('src')!, dst: w.get('dst')!, proto: 6, sport: Number(w.get('sport')), dport: Number(w.get('dport')) };
}

/** Rebuild the cache object a `-i`/`-e` line shows (the lab only holds TCP flows). */
function parseLine(line: string): { ct: Conntrack; since: number } {
  const words = line.split(' ').filter(Boolean);
  const dirs: Map<string, string>[] = [];
  for (const w of words) {
    const [k, v] = w.split('=');
    if (k === 'src') dirs.push(new Map());
    if (v !== undefined && dirs.length) dirs[dirs.length - 1]!.set(k!, v);
  }
  const ct: Conntrack = {
    orig: tuple(dirs, 0),
    tcp: { state: TCP_STATE_NAMES.indexOf(words[2] as (typeof TCP_STATE_NAMES)[number]) },
    status: (line.includes('[ASSURED]') ? IPS.ASSURED : 0) | (line.includes('[UNREPLIED]') ? 0 : IPS.SEEN_REPLY),
    mark: Number(/mark=(\d+)/.exec(line)![1]),
  };
  if (dirs.length > 1) ct.reply = tuple(dirs, 1);
  return { ct, since: Number(/active since (\d+)s/.exec(line)![1]) };
}

describe.skipIf(dirs.length === 0)(`formatters equal the lab outputs of conntrackd 1.4.7${dirs.length ? '' : ` (skipped: no lab outputs in ${ROOT})`}`, () => {
  for (const dir of dirs) {
    for (const fw of ['fw1', 'fw2']) {
      const f = (name: string) => `${ROOT}/${dir}/${fw}_${name}.txt`;

      it(`${dir}/${fw} -s and -s ct`, () => {
        const text = reply(f('s'));
        const blocks = text.split('\n\n');
        const link = blocks[3]!.split('\n');
        const [malformed, lost] = nums(blocks[4]!).map(BigInt);
        const ours = formatSyncStats({
          internal: { kind: 'cache', stats: cacheFromSummary(blocks[0]!) },
          external: { kind: 'cache', stats: cacheFromSummary(blocks[1]!) },
          traffic: { bytes: BigInt(nums(blocks[2]!)[0]!), packets: BigInt(nums(blocks[2]!)[1]!) },
          link: linkFrom(link[0]!, link.slice(1).join('\n')),
          malformed: malformed!,
          lost: lost!,
        });
        expect(ours).toBe(text);
        expect(reply(f('sct'))).toBe(text);
      });

      it(`${dir}/${fw} -s network`, () => {
        const text = reply(f('snetwork'));
        const n = nums(text.split('sequence tracking')[0]!);
        const seq = nums(text.split('sequence tracking statistics:')[1]!.split('\n\n')[0]!);
        const link = text.split('\n\n')[2]!.split('\n');
        const ours = formatNetworkStats(
          { malformed: BigInt(n[0]!), badVersion: n[1]!, badHeader: n[2]!, badPayload: n[3]!, badType: n[4]!, truncated: n[5]!, badSize: n[6]!, sendMalformed: n[7]!, spoofed: 0 },
          { lost: BigInt(seq[0]!), before: BigInt(seq[1]!) },
          linkFrom(link[0]!, link.slice(1).join('\n')),
        );
        expect(ours).toBe(text);
      });

      it(`${dir}/${fw} -s cache`, () => {
        const text = reply(f('scache'));
        const ours = text
          .split('\n\n')
          .filter(Boolean)
          .map((b) => {
            const [active, , total, cOk, cFail, noMem, noSpace, uOk, uFail, uNf, dOk, dFail, dNf] = nums(b);
            const name = /cache:(\w+)/.exec(b)![1]!;
            return formatCacheStats(name, { active: active!, total: total!, createdOk: cOk!, createdFailed: cFail!, noMemory: noMem!, noSpace: noSpace!, updatedOk: uOk!, updatedFailed: uFail!, updateNotFound: uNf!, deletedOk: dOk!, deletedFailed: dFail!, deleteNotFound: dNf! });
          })
          .join('');
        expect(ours).toBe(text);
      });

      it(`${dir}/${fw} -s runtime`, () => {
        const text = reply(f('sruntime'));
        const n = nums(text.split('netlink stats:')[1]!);
        const r: RuntimeStats = {
          startedAt: 1000, eventsReceived: BigInt(n[0]!), eventsFiltered: BigInt(n[1]!), eventsUnknownType: n[2]!, catchEventFailed: n[3]!,
          dumpUnknownType: n[4]!, netlinkOverrun: n[5]!, flushKernelTable: n[6]!, resyncWithKernel: n[7]!, netlinkBufferSize: n[8]!,
          childFailed: n[9]!, childSegfault: n[10]!, childTermsig: n[11]!, selectFailed: n[12]!, waitFailed: n[13]!, localReadFailed: n[14]!, localUnknownRequest: n[15]!,
        };
        const minutes = Number(/uptime: (\d+) min/.exec(text)![1]);
        expect(formatRuntimeStats(r, 1000 + minutes * 60 + 30)).toBe(text);
      });

      it(`${dir}/${fw} -s link, queue, rsqueue, process, expect`, () => {
        const link = reply(f('slink'));
        const lines = link.split('\n');
        expect(formatLinkStats([linkFrom(lines[0]!, lines.slice(1, 4).join('\n'), lines[0]!.includes('ACTIVE'))])).toBe(link);

        const queue = reply(f('squeue'));
        const blocks = queue.split('\n\n').filter(Boolean);
        const queues: QueueStats[] = blocks.slice(1).map((b) => {
          const [current, max, noSpace] = nums(b);
          return { name: /queue (\w+):/.exec(b)![1]!, current: current!, max: max!, noSpace: noSpace! };
        });
        expect(formatQueueStats(nums(blocks[0]!)[0]!, queues)).toBe(queue);

        const rs = reply(f('srsqueue'));
        if (rs !== '') {
          const entries: RsQueueEntry[] = rs.split('\n').slice(1).filter(Boolean).map((l) => {
            const [seq, flags] = nums(l);
            return l.startsWith('control') ? { kind: 'control', seq: seq!, flags: flags! } : { kind: 'object', seq: seq! };
          });
          expect(formatRsQueue(entries)).toBe(rs);
        }
        expect(formatProcessStats([])).toBe(reply(f('sprocess')));
        // ExpectationSync is off in the lab: `-s expect` answers nothing.
        expect(reply(f('sexpect'))).toBe('');
      });

      it(`${dir}/${fw} -i / -e lines and XML`, () => {
        for (const which of ['i', 'e']) {
          const text = reply(f(which));
          const ours = text.split('\n').filter(Boolean).map((l) => {
            const { ct, since } = parseLine(l);
            return formatConntrackLine(ct, { activeSince: since });
          }).join('');
          expect(ours).toBe(text);

          // snapshot.sh keeps the first 20 XML lines and notes the rest in a `# ...` line.
          const xml = reply(f(`${which}x`)).split('\n').filter((l) => l.startsWith('<flow>')).map((l) => `${l}\n`).join('');
          const kept = xml.split('\n').length - 1;
          const oursXml = text.split('\n').filter(Boolean).slice(0, kept).map((l, idx) => {
            const { ct } = parseLine(l);
            const id = /<id>(\d+)<\/id>/.exec(xml.split('\n')[idx]!)?.[1];
            if (id !== undefined) ct.id = Number(id);
            return formatConntrackXml(ct);
          }).join('');
          expect(oursXml).toBe(xml);
        }
      });
    }
  }
});
