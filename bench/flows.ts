/**
 * The benchmark's load as the addon creates it: flow i is the entry interop's `tcp4` line
 * makes with `conntrack -R` (ESTABLISHED, ASSURED, 3600 s, 10.1.x.y:1024 → 10.0.2.10:80,
 * going on into 10.2 … past 65,536), so both generators fill the table with the same flows.
 */
import { IPS, TCP_STATE, type Conntrack } from '../src/engine/model/conntrack.js';
import { flowSource } from '../test/integration/interop/flows.js';

export function benchFlow(i: number, mark?: number): Conntrack {
  return {
    orig: { l3: 'ipv4', src: flowSource('tcp4', i), dst: '10.0.2.10', proto: 6, sport: 1024, dport: 80 },
    status: IPS.SEEN_REPLY | IPS.ASSURED,
    timeout: 3600,
    tcp: { state: TCP_STATE.ESTABLISHED },
    ...(mark === undefined ? {} : { mark }),
  };
}

/** Flows [from, from + n), with a mark when given (updates). */
export function benchFlows(from: number, n: number, mark?: number): Conntrack[] {
  return Array.from({ length: n }, (_, i) => benchFlow(from + i, mark));
}
