import { describe, expect, it } from 'vitest';
import { fixedTable, simpleTable } from '../../src/opmode/table.js';

describe('simpleTable (tabulate simple, left-aligned)', () => {
  it('pads to the widest cell, dashes each column, two spaces between, no trailing blanks', () => {
    expect(simpleTable(['Source', 'Destination', 'Protocol'], [['10.0.0.1:1000', '10.0.0.2:80', 'tcp'], ['1.1.1.1', '2.2.2.2', 'icmp']])).toBe(
      [
        'Source         Destination  Protocol',
        '-------------  -----------  --------',
        '10.0.0.1:1000  10.0.0.2:80  tcp',
        '1.1.1.1        2.2.2.2      icmp',
      ].join('\n'),
    );
  });

  it('prints only the header and dashes for no rows (an empty cache)', () => {
    expect(simpleTable(['Source', 'Destination', 'Protocol'], [])).toBe('Source  Destination  Protocol\n------  -----------  --------');
  });

  it('aligns numbers left, as VyOS asks tabulate to', () => {
    expect(simpleTable(['CPU', 'Found'], [[0, 12345], [1, 7]])).toBe('CPU  Found\n---  -----\n0    12345\n1    7');
  });
});

describe('fixedTable (printf %-Ns)', () => {
  it('keeps the minimum widths and lets a long value push the rest right', () => {
    const cols = [{ header: 'A', width: 3 }, { header: 'B', width: 2 }, { header: 'C', width: 0 }];
    expect(fixedTable(cols, [['x', 'y', 'z'], ['long', 'yy', 'z']])).toBe('A   B  C\nx   y  z\nlong yy z');
  });
});
