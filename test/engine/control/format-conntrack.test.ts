/**
 * Dump formats for shapes the lab outputs lack (UDP, ICMP, IPv6, zone, use, UNREPLIED), from
 * `conntrack -L` / `conntrack -L -o xml` 1.4.7 on entries made with `conntrack -I` (the same
 * libnetfilter_conntrack printer conntrackd uses), with the timeout removed as conntrackd does.
 */
import { describe, expect, it } from 'vitest';
import { formatConntrackLine, formatConntrackXml, formatExpectationLine, formatExpectationXml } from '../../../src/engine/control/format.js';
import { EXPECT_FLAGS, IPS, type Conntrack, type Expectation } from '../../../src/engine/model/conntrack.js';

const v4 = (src: string, dst: string, proto: number, sport?: number, dport?: number) => ({ l3: 'ipv4' as const, src, dst, proto, ...(sport !== undefined ? { sport, dport } : {}) });

const CASES: Array<[string, Conntrack, string, string]> = [
  [
    'udp seen-reply with mark',
    { orig: v4('10.0.0.1', '10.0.0.2', 17, 1000, 53), reply: v4('10.0.0.2', '10.0.0.1', 17, 53, 1000), status: IPS.SEEN_REPLY | IPS.CONFIRMED, mark: 5, use: 1, id: 1303961927 },
    'udp      17 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 mark=5 use=1',
    '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.0.0.2</dst></layer3><layer4 protonum="17" protoname="udp"><sport>1000</sport><dport>53</dport></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.2</src><dst>10.0.0.1</dst></layer3><layer4 protonum="17" protoname="udp"><sport>53</sport><dport>1000</dport></layer4></meta><meta direction="independent"><mark>5</mark><use>1</use><id>1303961927</id></meta></flow>',
  ],
  [
    'icmp unreplied',
    {
      orig: { ...v4('10.0.0.1', '10.0.0.2', 1), icmpType: 8, icmpCode: 0, icmpId: 77 },
      reply: { ...v4('10.0.0.2', '10.0.0.1', 1), icmpType: 0, icmpCode: 0, icmpId: 77 },
      status: IPS.CONFIRMED, mark: 0, use: 1, id: 4226511361,
    },
    'icmp     1 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=77 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=77 mark=0 use=1',
    '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.0.0.2</dst></layer3><layer4 protonum="1" protoname="icmp"></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.2</src><dst>10.0.0.1</dst></layer3><layer4 protonum="1" protoname="icmp"></layer4></meta><meta direction="independent"><mark>0</mark><use>1</use><id>4226511361</id><unreplied/></meta></flow>',
  ],
  [
    'tcp over IPv6, assured',
    {
      orig: { l3: 'ipv6', src: 'fd00::1', dst: 'fd00::2', proto: 6, sport: 5, dport: 22 },
      reply: { l3: 'ipv6', src: 'fd00::2', dst: 'fd00::1', proto: 6, sport: 22, dport: 5 },
      tcp: { state: 3 }, status: IPS.SEEN_REPLY | IPS.ASSURED, mark: 0, use: 1, id: 2043605666,
    },
    'tcp      6 ESTABLISHED src=fd00::1 dst=fd00::2 sport=5 dport=22 src=fd00::2 dst=fd00::1 sport=22 dport=5 [ASSURED] mark=0 use=1',
    '<flow><meta direction="original"><layer3 protonum="10" protoname="ipv6"><src>fd00::1</src><dst>fd00::2</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>5</sport><dport>22</dport></layer4></meta><meta direction="reply"><layer3 protonum="10" protoname="ipv6"><src>fd00::2</src><dst>fd00::1</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>22</sport><dport>5</dport></layer4></meta><meta direction="independent"><state>ESTABLISHED</state><mark>0</mark><use>1</use><id>2043605666</id><assured/></meta></flow>',
  ],
  [
    'tcp syn_sent in a zone',
    { orig: v4('10.0.0.1', '10.0.0.2', 6, 1000, 80), reply: v4('10.0.0.2', '10.0.0.1', 6, 80, 1000), tcp: { state: 1 }, status: 0, mark: 0, zone: 7, use: 1, id: 1114272927 },
    'tcp      6 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=80 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=80 dport=1000 mark=0 zone=7 use=1',
    '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.0.0.2</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>1000</sport><dport>80</dport></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.2</src><dst>10.0.0.1</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>80</sport><dport>1000</dport></layer4></meta><meta direction="independent"><state>SYN_SENT</state><mark>0</mark><zone>7</zone><use>1</use><id>1114272927</id><unreplied/></meta></flow>',
  ],
];

describe('conntrack dump formats (conntrack -L 1.4.7 reference)', () => {
  it.each(CASES)('%s', (_n, ct, line, xml) => {
    expect(formatConntrackLine(ct)).toBe(`${line}\n`);
    expect(formatConntrackXml(ct)).toBe(`${xml}\n`);
  });

  it('appends the ALARM expiry and the age suffixes in conntrackd order', () => {
    const ct = CASES[0]![1];
    expect(formatConntrackLine(ct, { expiresIn: 170, activeSince: 10 })).toBe(`${CASES[0]![2]} [expires in 170s] [active since 10s]\n`);
  });

  const FTP: Expectation = {
    master: v4('10.0.0.1', '10.0.0.2', 6, 40000, 21),
    tuple: v4('10.0.0.2', '10.0.0.1', 6, 0, 50000),
    mask: v4('255.255.255.255', '255.255.255.255', 6, 0, 65535),
    flags: 0,
    class: 0,
    helper: 'ftp',
  };

  it('prints an expectation line', () => {
    expect(formatExpectationLine(FTP, { activeSince: 3 })).toBe(
      'proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp [active since 3s]\n',
    );
  });

  // conntrackd 1.4.7's `-i expect -x` for the ftp helper's expectation (test/integration/control-conntrackd.test.ts (d)).
  it('prints an expectation as XML', () => {
    expect(formatExpectationXml(FTP)).toBe(
      '<flow><layer3 protonum="2" protoname="ipv4"><expected><src>10.0.0.2</src><dst>10.0.0.1</dst></expected><mask><src>255.255.255.255</src><dst>255.255.255.255</dst></mask><master><src>10.0.0.1</src><dst>10.0.0.2</dst></master></layer3>' +
        '<layer4 protonum="6" protoname="tcp"><expected><sport>0</sport><dport>50000</dport></expected><mask><sport>0</sport><dport>65535</dport></mask><master><sport>40000</sport><dport>21</dport></master></layer4>' +
        '<meta><helper-name>ftp</helper-name><class>0</class></meta></flow>\n',
    );
  });

  // libnetfilter_conntrack 1.0.9's meta order: helper-name, class, zone, then one empty element per flag.
  it('prints an IPv6 expectation with its zone and flags as XML', () => {
    const v6 = (src: string, dst: string, sport: number, dport: number) => ({ l3: 'ipv6' as const, src, dst, proto: 6, sport, dport });
    const exp: Expectation = {
      master: v6('fd00::1', 'fd00::2', 40000, 21),
      tuple: v6('fd00::2', 'fd00::1', 0, 50000),
      mask: v6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 0, 65535),
      flags: EXPECT_FLAGS.PERMANENT | EXPECT_FLAGS.USERSPACE,
      class: 0,
      zone: 3,
      helper: 'ftp',
    };
    expect(formatExpectationXml(exp)).toMatch(/^<flow><layer3 protonum="10" protoname="ipv6"><expected><src>fd00::2<\/src>.*<\/layer4><meta><helper-name>ftp<\/helper-name><class>0<\/class><zone>3<\/zone><permanent\/><userspace\/><\/meta><\/flow>\n$/);
  });
});
