/**
 * `compare`: a line diff (longest common subsequence) of two texts, `+`/`-` for added and
 * removed lines and two spaces for context, as VyOS's compare marks its curly output.
 * Config texts are small (hundreds of lines), so the quadratic table is fine.
 */
export const NO_DIFFERENCES = 'No changes between working and active configurations.';

export function diffLines(before: string, after: string): string {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let changed = false;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(`- ${a[i++]}`);
      changed = true;
    } else {
      out.push(`+ ${b[j++]}`);
      changed = true;
    }
  }
  return changed ? out.join('\n') : NO_DIFFERENCES;
}
