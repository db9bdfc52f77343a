/**
 * Synthetic flows for the interop cells, created in a node's kernel with `conntrack -R`
 * (one ctnetlink socket for a whole batch: real IPCTNL_MSG_CT_NEW messages, real NEW events;
 * shared/lab/REPORT.md §3 "How entries are created").
 *
 * Bursts are injected in chunks of CHUNK flows with a short pause: a 10,000-flow burst in
 * ~50 ms overruns a daemon's event socket, and the repair (NetlinkOverrunResync) would make
 * the cell's timing depend on the overrun timer. The configs still set NetlinkOverrunResync 2
 * as a backstop.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from '../../helpers/netns.js';
import { nsExec } from './node.js';

export type FlowKind = 'tcp4' | 'tcp6' | 'snat' | 'dnat';

/** The timeout (s) every flow is created with. */
export const FLOW_TIMEOUT_S = 3600;

const CHUNK = 2000;
const PAUSE_MS = 100;

/** Source address of flow i of a kind: distinct per flow, /24 (or /112) groups of 256. */
export function flowSource(kind: FlowKind, i: number): string {
  const hi = i >> 8;
  const lo = i & 255;
  switch (kind) {
    case 'tcp4':
      // 10.1.0.0/16 holds the first 65,536; the benchmark's larger loads go on into 10.2 …
      return `10.${1 + (i >> 16)}.${hi & 255}.${lo}`;
    case 'tcp6':
      // inet_ntop form (no zero run to compress after fd01::1), so dumps print it verbatim
      return `fd01::1:${hi.toString(16)}:${lo.toString(16)}`;
    case 'snat':
      return `10.5.${hi}.${lo}`;
    case 'dnat':
      return `10.6.${hi}.${lo}`;
  }
}

/** The group (CIDR) holding flows 0..255 of a kind, for one bulk `conntrack -D`. */
export function firstGroup(kind: FlowKind): string {
  return kind === 'tcp6' ? 'fd01::1:0:0/112' : `${flowSource(kind, 0)}/24`;
}

/** One `conntrack -R` line creating flow i of a kind. */
function flowLine(kind: FlowKind, i: number): string {
  const src = flowSource(kind, i);
  const tcp = `--state ESTABLISHED -t ${FLOW_TIMEOUT_S} -u SEEN_REPLY,ASSURED`;
  switch (kind) {
    case 'tcp4':
      return `-I -p tcp -s ${src} -d 10.0.2.10 --sport 1024 --dport 80 ${tcp}`;
    case 'tcp6':
      return `-I -p tcp -s ${src} -d fd02::10 --sport 1024 --dport 80 ${tcp}`;
    case 'snat':
      return `-I -p tcp -s ${src} -d 10.0.2.10 --sport 1024 --dport 80 ${tcp} --src-nat 192.0.2.1:${20000 + i}`;
    case 'dnat':
      return `-I -p udp -s ${src} -d 10.0.2.10 --sport 1024 --dport 53 -t ${FLOW_TIMEOUT_S} --dst-nat 10.0.3.10:5353`;
  }
}

/** Write the `conntrack -R` file creating flows [from, to) of a kind; returns its path. */
export function writeFlowBatch(file: string, kind: FlowKind, from: number, to: number): string {
  const lines = [];
  for (let i = from; i < to; i++) lines.push(flowLine(kind, i));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * Create flows [0, n) of a kind in ns's kernel; returns the seconds it took. `chunk` flows per
 * `conntrack -R`, `pauseMs` between them (default: the gentle pace above; the fail-over lab
 * loads 100k in a few big chunks, as shared/lab/load.sh does in one).
 */
export async function injectFlows(ns: Netns, dir: string, kind: FlowKind, n: number, pace = { chunk: CHUNK, pauseMs: PAUSE_MS }): Promise<number> {
  const t0 = performance.now();
  const { chunk, pauseMs } = pace;
  for (let from = 0; from < n; from += chunk) {
    const file = writeFlowBatch(join(dir, `${kind}-${from}.batch`), kind, from, Math.min(n, from + chunk));
    const r = nsExec(ns, ['conntrack', '-R', file], 120_000);
    if (r.status !== 0) throw new Error(`conntrack -R ${kind} [${from}, +${chunk}) in ${ns.name}: ${r.stderr}`);
    if (from + chunk < n) await new Promise((res) => setTimeout(res, pauseMs));
  }
  return (performance.now() - t0) / 1000;
}

/** `conntrack -L` lines of a namespace (IPv4 and IPv6). */
export function kernelFlows(ns: Netns): string[] {
  return nsExec(ns, ['conntrack', '-L']).stdout.split('\n').filter((l) => /^\w+\s+\d+\s/.test(l));
}

export function kernelCount(ns: Netns): number {
  return Number(nsExec(ns, ['conntrack', '-C']).stdout.trim());
}

/** Empty a namespace's conntrack and expectation tables. */
export function flushKernel(ns: Netns): void {
  nsExec(ns, ['conntrack', '-F']);
  nsExec(ns, ['conntrack', '-F', 'expect']);
}
