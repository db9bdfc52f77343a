import { describe, expect, it } from 'vitest';
import { IPS, type Conntrack } from '../../src/engine/model/conntrack.js';
import { formatEventLine, monitorEvent } from '../../src/opmode/monitor.js';
import { schemaErrors } from './schemas.js';

const syn: Conntrack = {
  orig: { l3: 'ipv4', src: '10.0.1.1', dst: '10.0.1.2', proto: 6, sport: 1000, dport: 80 },
  reply: { l3: 'ipv4', src: '10.0.1.2', dst: '10.0.1.1', proto: 6, sport: 80, dport: 1000 },
  status: IPS.CONFIRMED,
  timeout: 120,
  mark: 5,
  tcp: { state: 1 },
};
const udp: Conntrack = {
  orig: { l3: 'ipv4', src: '10.0.1.1', dst: '10.0.1.2', proto: 17, sport: 5000, dport: 53 },
  reply: { l3: 'ipv4', src: '10.0.1.2', dst: '10.0.1.1', proto: 17, sport: 53, dport: 5000 },
  status: IPS.CONFIRMED,
  zone: 4,
};

describe('monitor conntrack table: conntrack -E lines', () => {
  it('right-aligns the type in 9 columns, puts the timeout after the protocol, marks userspace events', () => {
    // Lines conntrack 1.4.7 -E printed for the same events (kernel 6.x).
    expect(formatEventLine({ type: 'new', ct: syn, portId: 2909 })).toBe(
      '    [NEW] tcp      6 120 SYN_SENT src=10.0.1.1 dst=10.0.1.2 sport=1000 dport=80 [UNREPLIED] src=10.0.1.2 dst=10.0.1.1 sport=80 dport=1000 mark=5 [USERSPACE] portid=2909',
    );
    expect(formatEventLine({ type: 'destroy', ct: udp, portId: 0 })).toBe(
      '[DESTROY] udp      17 src=10.0.1.1 dst=10.0.1.2 sport=5000 dport=53 [UNREPLIED] src=10.0.1.2 dst=10.0.1.1 sport=53 dport=5000 zone=4',
    );
    expect(formatEventLine({ type: 'update', ct: { ...syn, timeout: 119, mark: 9 }, portId: 0 }).startsWith(' [UPDATE] tcp      6 119 SYN_SENT ')).toBe(true);
  });

  it('--json: one document per event, valid against monitor-event.schema.json', () => {
    const ev = monitorEvent({ type: 'destroy', ct: udp, portId: 0 });
    expect(ev).toMatchObject({ event: 'destroy', portid: 0, timeout: null, zone: 4, protocol: 'udp' });
    expect(schemaErrors('monitor-event', ev)).toEqual([]);
    expect(schemaErrors('monitor-event', { ...ev, event: 'renew' })).not.toEqual([]);
  });
});
