import { describe, expect, it } from 'vitest';
import { IPS, TCP_STATE, type Conntrack } from '../../src/engine/model/conntrack.js';
import {
  formatDetailTable, formatLegacyTable, parseEndpoint, parseTableQuery, tableEntry,
} from '../../src/opmode/conntrack-table.js';
import { schemaErrors } from './schemas.js';

const tcp = (id: number, src: string, sport: number, dst: string, dport: number, timeout: number, state: number = TCP_STATE.ESTABLISHED): Conntrack => ({
  id,
  orig: { l3: 'ipv4', src, dst, proto: 6, sport, dport },
  reply: { l3: 'ipv4', src: dst, dst: src, proto: 6, sport: dport, dport: sport },
  status: IPS.SEEN_REPLY | IPS.ASSURED | IPS.CONFIRMED,
  timeout,
  tcp: { state },
});

const icmp = (id: number, src: string, dst: string, timeout: number): Conntrack => ({
  id,
  orig: { l3: 'ipv4', src, dst, proto: 1, icmpType: 8, icmpCode: 0, icmpId: 5 },
  reply: { l3: 'ipv4', src: dst, dst: src, proto: 1, icmpType: 0, icmpCode: 0, icmpId: 5 },
  status: IPS.SEEN_REPLY | IPS.CONFIRMED,
  timeout,
});

const udp = (id: number, src: string, sport: number, dst: string, dport: number, timeout: number): Conntrack => ({
  id,
  orig: { l3: 'ipv4', src, dst, proto: 17, sport, dport },
  reply: { l3: 'ipv4', src: dst, dst: src, proto: 17, sport: dport, dport: sport },
  status: IPS.CONFIRMED,
  timeout,
});

describe('show conntrack table: the legacy layout of VyOS conntrack.rst', () => {
  it('reproduces the seed document sample byte for byte', () => {
    const entries = [
      tcp(1015736576, '10.35.100.87', 58172, '172.31.20.12', 22, 430279),
      tcp(1006235648, '10.35.101.221', 57483, '172.31.120.21', 22, 413310),
      icmp(1006237088, '10.100.68.100', '172.31.120.21', 29),
      tcp(1015734848, '10.35.100.87', 56282, '172.31.20.12', 22, 300),
      udp(1015734272, '172.31.20.12', 60286, '239.10.10.14', 694, 29),
      icmp(1006239392, '10.35.101.221', '172.31.120.21', 29),
    ].map(tableEntry);
    expect(formatLegacyTable(entries)).toBe(
      [
        'TCP state codes: SS - SYN SENT, SR - SYN RECEIVED, ES - ESTABLISHED,',
        '                 FW - FIN WAIT, CW - CLOSE WAIT, LA - LAST ACK,',
        '                 TW - TIME WAIT, CL - CLOSE, LI - LISTEN',
        '',
        'CONN ID    Source                 Destination            Protocol         TIMEOUT',
        '1015736576 10.35.100.87:58172     172.31.20.12:22        tcp [6] ES       430279',
        '1006235648 10.35.101.221:57483    172.31.120.21:22       tcp [6] ES       413310',
        '1006237088 10.100.68.100          172.31.120.21          icmp [1]         29',
        '1015734848 10.35.100.87:56282     172.31.20.12:22        tcp [6] ES       300',
        '1015734272 172.31.20.12:60286     239.10.10.14:694       udp [17]         29',
        '1006239392 10.35.101.221          172.31.120.21          icmp [1]         29',
      ].join('\n'),
    );
  });

  it('codes every TCP state, brackets IPv6 with ports, and shows n/a for offloaded entries', () => {
    const codes = [
      [TCP_STATE.SYN_SENT, 'SS'], [TCP_STATE.SYN_RECV, 'SR'], [TCP_STATE.FIN_WAIT, 'FW'], [TCP_STATE.CLOSE_WAIT, 'CW'],
      [TCP_STATE.LAST_ACK, 'LA'], [TCP_STATE.TIME_WAIT, 'TW'], [TCP_STATE.CLOSE, 'CL'], [TCP_STATE.SYN_SENT2, 'LI'],
    ] as const;
    for (const [state, code] of codes) {
      expect(formatLegacyTable([tableEntry(tcp(1, '10.0.0.1', 1, '10.0.0.2', 2, 9, state))]).split('\n')[5]).toContain(`tcp [6] ${code}`);
    }
    const v6: Conntrack = {
      id: 7,
      orig: { l3: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', proto: 6, sport: 1000, dport: 443 },
      reply: { l3: 'ipv6', src: '2001:db8::2', dst: '2001:db8::1', proto: 6, sport: 443, dport: 1000 },
      status: IPS.OFFLOAD,
      timeout: 5,
      tcp: { state: TCP_STATE.ESTABLISHED },
    };
    expect(formatLegacyTable([tableEntry(v6)]).split('\n')[5]).toBe('7          [2001:db8::1]:1000     [2001:db8::2]:443      tcp [6] ES       n/a');
  });
});

describe('show conntrack table … detail: the columns of VyOS 2026', () => {
  it('shows both directions with counters, NAT in the reply, state, timeout, mark and zone', () => {
    const ct: Conntrack = {
      ...tcp(1, '10.0.0.5', 2000, '10.0.0.6', 22, 299),
      reply: { l3: 'ipv4', src: '192.168.1.1', dst: '10.0.0.5', proto: 6, sport: 2222, dport: 2000 },
      mark: 7,
      zone: 3,
      counters: { origPackets: 3, origBytes: 180, replyPackets: 2, replyBytes: 120 },
    };
    expect(formatDetailTable([tableEntry(ct), tableEntry(udp(2, '10.0.0.1', 53, '10.0.0.2', 53, 29))])).toBe(
      [
        'Original src   Original dst  Original packets  Original bytes  Reply src         Reply dst      Reply packets  Reply bytes  Protocol  State        Timeout  Mark  Zone',
        '-------------  ------------  ----------------  --------------  ----------------  -------------  -------------  -----------  --------  -----------  -------  ----  ----',
        '10.0.0.5:2000  10.0.0.6:22   3                 180             192.168.1.1:2222  10.0.0.5:2000  2              120          tcp       ESTABLISHED  299      7     3',
        '10.0.0.1:53    10.0.0.2:53   0                 0               10.0.0.2:53       10.0.0.1:53    0              0            udp                    29       0     0',
      ].join('\n'),
    );
  });
});

describe('table entries as --json', () => {
  it('validate against schema/opmode/conntrack-table.schema.json', () => {
    const entries = [tcp(1, '10.0.0.1', 1, '10.0.0.2', 2, 9), icmp(2, '10.0.0.1', '10.0.0.3', 29), udp(3, '10.0.0.1', 53, '10.0.0.2', 53, 29)].map(tableEntry);
    expect(schemaErrors('conntrack-table', entries)).toEqual([]);
    expect(schemaErrors('conntrack-table', [{ ...entries[0], extra: 1 }])).not.toEqual([]);
    expect(schemaErrors('conntrack-table', [{ ...entries[0], mark: '7' }])).not.toEqual([]);
  });

  it('name the NAT ranges and the helper of a flow (null when none)', () => {
    const ftp: Conntrack = { ...tcp(4, '10.0.0.1', 1030, '10.0.0.2', 21, 300), helper: 'ftp', snat: { addr: '192.0.2.1', port: 20000 } };
    const dnat: Conntrack = { ...udp(5, '10.0.0.1', 53, '10.0.0.2', 53, 29), dnat: { addr: '10.0.3.10' } };
    const entries = [ftp, dnat].map(tableEntry);
    expect(entries).toMatchObject([
      { helper: 'ftp', snat: { address: '192.0.2.1', port: 20000 }, dnat: null },
      { helper: null, snat: null, dnat: { address: '10.0.3.10' } },
    ]);
    expect(schemaErrors('conntrack-table', entries)).toEqual([]);
  });
});

describe('filters', () => {
  it('parse ADDR[:PORT] per family, canonical', () => {
    expect(parseEndpoint('ipv4', '10.0.0.1')).toEqual({ addr: '10.0.0.1' });
    expect(parseEndpoint('ipv4', '10.0.0.1:80')).toEqual({ addr: '10.0.0.1', port: 80 });
    expect(parseEndpoint('ipv6', '2001:DB8:0::1')).toEqual({ addr: '2001:db8::1' });
    expect(parseEndpoint('ipv6', '[2001:db8::1]:443')).toEqual({ addr: '2001:db8::1', port: 443 });
    expect(() => parseEndpoint('ipv4', '10.0.0.300')).toThrow('Invalid ipv4 address: 10.0.0.300');
    expect(() => parseEndpoint('ipv4', '10.0.0.1:99999')).toThrow('Invalid port: 10.0.0.1:99999');
  });

  it('parse the words after the family, and name the valid words for an unknown one', () => {
    expect(parseTableQuery('ipv4', ['detail', 'source', '10.0.0.1:53', 'protocol', 'udp'])).toEqual({
      family: 'ipv4', detail: true, source: { addr: '10.0.0.1', port: 53 }, protocol: 17,
    });
    expect(parseTableQuery('ipv6', ['protocol', 'ipv6-icmp', 'destination', '2001:db8::2'])).toMatchObject({ protocol: 58, destination: { addr: '2001:db8::2' } });
    expect(() => parseTableQuery('ipv4', ['sorce', '1.1.1.1'])).toThrow(
      'Invalid command: show conntrack table ipv4 sorce\nValid next words: destination, detail, protocol, source',
    );
    expect(() => parseTableQuery('ipv4', ['detail', 'protocol'])).toThrow('Incomplete command: show conntrack table ipv4 detail protocol\nValid next words: <name|number>');
    expect(() => parseTableQuery('ipv4', ['source', '10.0.0.1:80:90'])).toThrow('Invalid port: 10.0.0.1:80:90');
  });
});
