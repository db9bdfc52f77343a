/**
 * The demo's traffic: N established TCP flows from a client network to one server, the same
 * flows whether they are created in a memory table or loaded into a real one with conntrack(8).
 */
import type { Conntrack } from '../engine/model/conntrack.js';

/** TCP ESTABLISHED (nf_conntrack_tcp's TCP_CONNTRACK_ESTABLISHED). */
const ESTABLISHED = 3;
/** IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED, as an established flow has them. */
const ESTABLISHED_STATUS = 0x2 | 0x4 | 0x8;
const TIMEOUT = 3600;

export function demoFlow(i: number): Conntrack {
  return {
    orig: { l3: 'ipv4', src: clientAddress(i), dst: '10.0.2.10', proto: 6, sport: 10000 + (i % 50000), dport: 443 },
    status: ESTABLISHED_STATUS,
    timeout: TIMEOUT,
    tcp: { state: ESTABLISHED },
  };
}

/** The same flow as one line of `conntrack -R` (the `-o save` form). */
export function demoFlowLine(i: number): string {
  const ct = demoFlow(i);
  return `-A -t ${TIMEOUT} -u SEEN_REPLY,ASSURED -s ${ct.orig.src} -d ${ct.orig.dst} -p tcp --sport ${ct.orig.sport} --dport ${ct.orig.dport} --state ESTABLISHED\n`;
}

/** 10.1.0.0/16 then onwards: room for 16M distinct sources with 50,000 ports each. */
function clientAddress(i: number): string {
  const host = Math.floor(i / 50000);
  return `10.${1 + (host >> 16)}.${(host >> 8) & 255}.${host & 255}`;
}
