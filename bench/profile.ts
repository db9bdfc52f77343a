/**
 * Where ctsyncd's JS thread spends its time (`npm run bench -- --profile`): the hottest
 * functions of a V8 CPU profile by self time, as a share of the thread's busy time.
 */
import { existsSync, readFileSync } from 'node:fs';

/** The parts of V8's CPU profile format (Profiler.stop) read here. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  startTime: number;
  endTime: number;
}

export interface Hotspot {
  /** `functionName file:line` (file relative to the package), or V8's `(garbage collector)` … */
  name: string;
  selfMs: number;
  /** of the thread's busy time (everything but `(idle)`) */
  share: number;
}

function frameName(f: CpuProfile['nodes'][number]['callFrame']): string {
  if (!f.url) return f.functionName || '(anonymous)';
  const file = f.url.replace(/^file:\/\/.*\/(?=(dist|node_modules|bin)\/)/, '');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
}

/** The `top` functions by self time (samples spread evenly over the profile's span). */
export function hotspots(p: CpuProfile, top = 10): Hotspot[] {
  const hits = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const node of p.nodes) {
    const h = node.hitCount ?? 0;
    total += h;
    if (node.callFrame.functionName === '(idle)') idle += h;
    else if (h) hits.set(frameName(node.callFrame), (hits.get(frameName(node.callFrame)) ?? 0) + h);
  }
  if (total === 0) return [];
  const msPerHit = (p.endTime - p.startTime) / 1000 / total;
  const busy = total - idle;
  return [...hits]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, h]) => ({ name, selfMs: h * msPerHit, share: h / busy }));
}

/** `34 % encode dist/engine/wire/build.js:120, 12 % (garbage collector), …` from a daemon's profile file. */
export function hotspotText(file: string, top = 8): string {
  if (!existsSync(file)) return 'no profile (the daemon did not exit cleanly)';
  return hotspots(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top)
    .map((h) => `${Math.round(h.share * 100)} % ${h.name}`)
    .join(', ');
}
