/** What an operator command acts on: `-c`, `-F`, `-R` take `[ct|expect]`, default both (spec §3.4). */
export type Target = 'ct' | 'expect' | 'all';

/** `-i` / `-e [ct|expect]`: one object kind. */
export type ObjectKind = 'ct' | 'expect';

/** `-f [internal|external]`, default both. */
export type CacheSide = 'all' | 'internal' | 'external';
