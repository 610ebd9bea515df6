import semver from './_semver.js';
import type { ArtifactConfig } from '../artifact/config.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { describeConstraint, type Constraint } from './_constraints.js';

/** Resolution state of one artifact name. */
export interface Node {
  name: string;
  version: string;
  ref: string;
  config: ArtifactConfig;
  /** The user's input when this is a root (roots are pinned). */
  pinnedBy?: string;
  constraints: Constraint[];
  /** Resolved names this version depends on. */
  deps: string[];
  /** The dependent that first pulled this in (for chains). */
  parent?: string;
  /** The version whose dependencies were processed. */
  processed?: string;
  how?: string;
}

/** `app 1.0.0 (requested as app) → rules 0.7.0`: the path from a root to `node`. */
export function chainOf(nodes: ReadonlyMap<string, Node>, node: Node): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  let cur: Node | undefined = node;
  while (cur !== undefined && !seen.has(cur.name)) {
    seen.add(cur.name);
    parts.unshift(cur.pinnedBy !== undefined ? `${cur.name} ${cur.version} (requested as ${cur.pinnedBy})` : `${cur.name} ${cur.version}`);
    cur = cur.parent === undefined ? undefined : nodes.get(cur.parent);
  }
  return parts.join(' → ');
}

const nodeOf = (nodes: ReadonlyMap<string, Node>, from: string) => nodes.get(from.split(' ')[0]!);

function available(versions: readonly string[] | undefined): string {
  if (versions === undefined) return '';
  const valid = versions.filter((v) => semver.valid(v) === v).sort(semver.compare);
  return ` (available: ${valid.join(', ') || 'none'})`;
}

/**
 * ERR_DEPENDENCY_CONFLICT naming the requirement, the chain that led to it, and what holds the
 * other version: `k8saudit-rules 0.7.0 needs k8saudit >=0.8.0 <1.0.0 (chain: …), but k8saudit
 * 0.7.0 is pinned by the command line (k8saudit:0.7.0)`.
 */
export function conflictError(
  nodes: ReadonlyMap<string, Node>,
  name: string,
  c: Constraint,
  requester: Node,
  target?: Node,
  versions?: readonly string[],
): RulesctlError {
  const wanted = `${c.from} needs ${describeConstraint(name, c.min)} (chain: ${chainOf(nodes, requester)})`;
  let but: string;
  if (target === undefined) but = `no version of ${name} satisfies it${available(versions)}`;
  else if (target.pinnedBy !== undefined) but = `${name} ${target.version} is pinned by the command line (${target.pinnedBy})`;
  else {
    const others = target.constraints.filter((o) => o !== c && !o.from.startsWith(`${c.from}`)).map((o) => {
      const by = nodeOf(nodes, o.from);
      return `${o.from} (needs ${describeConstraint(name, o.min)}; chain: ${by === undefined ? o.from : chainOf(nodes, by)})`;
    });
    but = `${name} ${target.version} is required by ${others.join(', ') || 'other artifacts'}, and no version satisfies all of them${available(versions)}`;
  }
  return new RulesctlError(ErrorCodes.DEPENDENCY_CONFLICT, `cannot satisfy dependencies: ${wanted}, but ${but}`, {
    hint: 'install compatible versions explicitly, or skip dependency resolution with --resolve-deps=false',
    details: { name, wanted: c.min, existing: target?.version, requiredBy: c.from },
  });
}
