/** `ctsync help <path…>`: a node's help text and its possible completions, from the schema. */
import { childNames, childSchema, resolvePath, type SchemaNode } from './schema.js';

// VyOS valueHelp formats as its completion shows them.
function formatValueHelp(format: string): string {
  if (format === 'ipv4') return '<x.x.x.x>';
  if (format === 'ipv4net') return '<x.x.x.x/x>';
  if (format === 'ipv6') return '<h:h:h:h:h:h:h:h>';
  if (format === 'ipv6net') return '<h:h:h:h:h:h:h:h/x>';
  if (format === 'txt') return '<text>';
  const range = /^u32:(.+)$/.exec(format);
  return range ? `<${range[1]}>` : format;
}

function row(name: string, help: string | undefined): string {
  return `  ${name.padEnd(26)}${help ?? ''}`.trimEnd();
}

export function helpText(words: string[]): string {
  const step = resolvePath(words);
  const node: SchemaNode = step.node;
  const lines: string[] = [];
  if (words.length > 0 && node.help) lines.push(`${words.join(' ')}: ${node.help}`);
  if (step.kind === 'node') {
    lines.push('Possible completions:');
    for (const name of childNames(node)) lines.push(row(name, childSchema(node, name)?.help));
  } else if (step.kind === 'valueless') {
    lines.push('Possible completions:', row('<Enter>', 'Execute the current command'));
  } else {
    lines.push('Possible completions:');
    for (const [format, help] of node.valueHelp ?? []) lines.push(row(formatValueHelp(format), help));
  }
  return lines.join('\n');
}
