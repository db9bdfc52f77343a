import { describe, expect, it } from 'vitest';
import { parseExpectationLines, parseFlowXml } from '../../src/opmode/cache-dump.js';

describe('cache dumps: flows in XML (-x)', () => {
  it('reads the original direction; other lines are skipped', () => {
    const line =
      '<flow><meta direction="original"><layer3 protonum="10" protoname="ipv6"><src>2001:db8::1</src><dst>2001:db8::2</dst></layer3><layer4 protonum="58" protoname="icmpv6"><type>128</type><code>0</code><id>9</id></layer4></meta><meta direction="reply"><layer3 protonum="0" protoname="unknown"><src></src><dst></dst></layer3><layer4 protonum="0" protoname="unknown"></layer4></meta><meta direction="independent"><mark>0</mark></meta></flow>';
    expect(parseFlowXml(`${line}\nproto=6 src=1.1.1.1 dst=2.2.2.2\n`)).toEqual([{ family: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', protocol: 'icmpv6' }]);
  });
});

describe('cache dumps: expectation lines', () => {
  it('reads the expected tuple; a port the mask leaves open is not shown', () => {
    // Lines conntrackd 1.4.7 printed for `-i expect` (an ftp helper's PORT expectation), and one
    // for IPv6 with both ports fixed.
    const text = [
      'proto=6 src=10.77.2.2 dst=10.77.1.2 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.77.1.2 master-dst=10.77.2.2 sport=53928 dport=21 class=0 helper=ftp [active since 1s]',
      'proto=17 src=2001:db8::2 dst=2001:db8::1 sport=5060 dport=5062 mask-src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff mask-dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff sport=65535 dport=65535 master-src=2001:db8::1 master-dst=2001:db8::2 sport=5060 dport=5060 class=0 helper=sip',
      '<flow><meta direction="original"></meta></flow>',
      '',
    ].join('\n');
    expect(parseExpectationLines(text)).toEqual([
      { family: 'ipv4', src: '10.77.2.2', dst: '10.77.1.2', dport: 50000, protocol: 'tcp' },
      { family: 'ipv6', src: '2001:db8::2', dst: '2001:db8::1', sport: 5060, dport: 5062, protocol: 'udp' },
    ]);
  });
});
