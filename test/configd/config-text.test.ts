import { describe, expect, it } from 'vitest';
import { formatCommands, formatCurly, parseConfigText, tokenize } from '../../src/configd/config-text.js';
import { diffLines, NO_DIFFERENCES } from '../../src/configd/diff.js';
import type { ConfigTree } from '../../src/configd/schema.js';
import { setPath } from '../../src/configd/tree.js';
import { EXAMPLE_B, EXAMPLE_C, treeOf } from './helpers.js';

const load = (text: string): ConfigTree => parseConfigText(text).reduce<ConfigTree>((t, w) => setPath(t, w), {});

describe('curly form', () => {
  it('prints Example B in schema order with 4-space indents', () => {
    const text = formatCurly(treeOf(EXAMPLE_B));
    expect(text).toContain(
      [
        'service {',
        '    conntrack-sync {',
        '        accept-protocol tcp',
        '        accept-protocol udp',
        '        accept-protocol icmp',
        '        disable-external-cache',
        '        event-listen-queue-size 8',
        '        expect-sync all',
        '        failover-mechanism {',
        '            vrrp {',
        '                sync-group failover-group',
        '            }',
        '        }',
        '        interface eth1 {',
        '            peer 192.168.0.251',
        '        }',
        '        sync-queue-size 8',
        '    }',
        '}',
      ].join('\n'),
    );
    expect(text.startsWith('high-availability {\n    vrrp {\n        group LAN {\n            address 192.168.0.1/24\n')).toBe(true);
  });
  it('round-trips: curly → tree → curly, and commands → tree', () => {
    const tree = treeOf(EXAMPLE_C);
    expect(load(formatCurly(tree))).toEqual(tree);
    expect(load(formatCommands(tree).join('\n'))).toEqual(tree);
  });
  it('prints an empty tag entry as an empty block and loads it back', () => {
    const tree = treeOf('service conntrack-sync interface eth0');
    expect(formatCurly(tree)).toBe('service {\n    conntrack-sync {\n        interface eth0 {\n        }\n    }\n}');
    expect(formatCommands(tree)).toEqual(['set service conntrack-sync interface eth0']);
    expect(load(formatCurly(tree))).toEqual(tree);
  });
  it('loads config.boot comments, one-line blocks and quoted values', () => {
    const text = `// vyos-config-version: "conntrack-sync@2"
service { conntrack-sync {
  # a comment
  interface "eth0" { port '3781' }
  mcast-group "225.0.0.51"
} }
/* Warning: Do not remove the following line. */`;
    expect(load(text)).toEqual({ service: { 'conntrack-sync': { interface: { eth0: { port: '3781' } }, 'mcast-group': '225.0.0.51' } } });
  });
  it('commands quote values with single quotes, falling back to double quotes', () => {
    expect(formatCommands(treeOf('service conntrack-sync sync-queue-size 2'))).toEqual(["set service conntrack-sync sync-queue-size '2'"]);
    expect(tokenize(`set a 'b c' "d \\"e\\"" f\\ g`).filter((t) => t.token.kind === 'word').map((t) => (t.token as { text: string }).text)).toEqual([
      'set',
      'a',
      'b c',
      'd "e"',
      'f g',
    ]);
  });
  it('rejects broken text with a line number', () => {
    expect(() => parseConfigText('service {\n  conntrack-sync {\n}')).toThrow('Load failed: line 3: missing "}"');
    expect(() => parseConfigText('}\n')).toThrow('Load failed: line 1: unbalanced "}"');
    expect(() => parseConfigText("set a 'b")).toThrow('Load failed: line 1: unterminated quote');
    expect(() => parseConfigText('set a\ndelete b')).toThrow('only "set" commands can be loaded, not "delete"');
  });
});

describe('compare diff', () => {
  it('marks added and removed lines', () => {
    expect(diffLines('a\nb\nc', 'a\nc\nd')).toBe('  a\n- b\n  c\n+ d');
    expect(diffLines('a', 'a')).toBe(NO_DIFFERENCES);
  });
});
