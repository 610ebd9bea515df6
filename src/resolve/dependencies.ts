import semver from './_semver.js';
import type { ArtifactConfig, ArtifactDependency } from '../artifact/config.js';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import { constraintFor, describeConstraint, pickVersion, satisfiesAll, toVersion, type Constraint } from './_constraints.js';
import { conflictError, type Node } from './_conflict.js';

/** The functions resolution runs against (style practice 7); it does no I/O of its own. */
export interface DependencyResolvers {
  /** The config of a full ref (for plugins: the platform's config). */
  fetchConfig(ref: string, opts: { signal?: AbortSignal }): Promise<ArtifactConfig>;
  /** The full ref of index name `name` at exact version tag `version` (spec §7.6). */
  resolveRef(name: string, version: string, opts: { signal?: AbortSignal }): Promise<{ ref: string }>;
  /** Version tags of `name`. Without it, falcoctl's rule applies: the exact tag of the minimum. */
  listVersions?(name: string, opts: { signal?: AbortSignal }): Promise<string[]>;
}

export interface RootRequest {
  /** Full ref (already resolved, spec §7). */
  ref: string;
  /** What the user typed, for messages. */
  input?: string;
}

export interface ResolveDependenciesOptions extends DependencyResolvers {
  /** `--resolve-deps`; false returns the de-duplicated roots only. Default true. */
  resolveDeps?: boolean;
  signal?: AbortSignal;
}

export interface ResolvedArtifact {
  name: string;
  version: string;
  ref: string;
  config: ArtifactConfig;
  /** True for roots (what the user asked for). */
  requested: boolean;
  /** Why this version: `requested as falco-rules:3`, `highest version satisfying json >=0.7.0 <1.0.0`… */
  reason: string;
  /** Dependents and what they asked for (`cloudtrail-rules 0.10.0 needs json >=0.7.0 <1.0.0`). */
  requiredBy: string[];
  /** Names of the resolved artifacts this one depends on (alternatives included). */
  dependencies: string[];
}

export interface DependencyResolution {
  /** Dependencies before their dependents; roots in request order otherwise. */
  artifacts: ResolvedArtifact[];
  warnings: string[];
}

const label = (n: { name: string; version: string }) => `${n.name} ${n.version}`;

class Resolver {
  readonly nodes = new Map<string, Node>();
  readonly warnings: string[] = [];
  private readonly queue: string[] = [];
  private readonly versionCache = new Map<string, Promise<string[]>>();
  private steps = 0;

  constructor(private readonly opts: ResolveDependenciesOptions) {}

  async addRoot(root: RootRequest): Promise<void> {
    const config = await this.opts.fetchConfig(root.ref, { signal: this.opts.signal });
    const input = root.input ?? root.ref;
    if (config.version === undefined || config.version === '') {
      throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `empty version for ref "${root.ref}": config may be corrupted`);
    }
    const version = toVersion(config.version, `version of "${root.ref}"`);
    const name = config.name !== undefined && config.name !== '' ? config.name : input;
    const existing = this.nodes.get(name);
    if (existing !== undefined) {
      const keepNew = semver.gt(version, existing.version);
      const [kept, dropped] = keepNew ? [{ ref: root.ref, version }, existing] : [existing, { ref: root.ref, version }];
      this.warnings.push(`${name}: ${dropped.ref} (${dropped.version}) discarded, keeping the higher ${kept.ref} (${kept.version})`);
      if (!keepNew) return;
    }
    this.nodes.set(name, { name, version, ref: root.ref, config, pinnedBy: input, constraints: [], deps: [] });
    if (existing === undefined) this.queue.push(name);
  }

  async run(): Promise<void> {
    const limit = 10_000 + 100 * this.nodes.size;
    while (this.queue.length > 0) {
      if (++this.steps > limit) {
        throw new RulesctlError(ErrorCodes.DEPENDENCY_CYCLE, `dependency resolution did not converge after ${limit} steps`, {
          hint: 'pin the artifacts involved explicitly, or install with --resolve-deps=false',
        });
      }
      const node = this.nodes.get(this.queue.shift()!)!;
      if (node.processed === node.version) continue;
      node.processed = node.version;
      node.deps = [];
      for (const dep of node.config.dependencies ?? []) await this.handle(node, dep);
    }
  }

  private versions(name: string): Promise<string[]> | undefined {
    const list = this.opts.listVersions;
    if (list === undefined) return undefined;
    let p = this.versionCache.get(name);
    if (p === undefined) this.versionCache.set(name, (p = list(name, { signal: this.opts.signal })));
    return p;
  }

  private async handle(node: Node, dep: ArtifactDependency): Promise<void> {
    const from = label(node);
    const min = toVersion(dep.version, `${from} declares dependency "${dep.name}"`);
    if (this.nodes.has(dep.name)) return this.constrain(dep.name, constraintFor(from, min), node);
    for (const alt of dep.alternatives ?? []) {
      if (!this.nodes.has(alt.name)) continue;
      const altMin = toVersion(alt.version, `${from} declares alternative "${alt.name}"`);
      return this.constrain(alt.name, constraintFor(from, altMin), node, `alternative to ${dep.name}`);
    }
    const c = constraintFor(from, min);
    const versions = await this.versions(dep.name);
    const version = pickVersion([c], versions);
    if (version === undefined) throw conflictError(this.nodes, dep.name, c, node, undefined, versions);
    const { ref, config } = await this.load(dep.name, version, node);
    const how = versions === undefined ? 'the minimum stated (falcoctl rule, no tag list)' : 'the highest version in range';
    this.nodes.set(dep.name, { name: dep.name, version, ref, config, constraints: [c], deps: [], parent: node.name, how });
    node.deps.push(dep.name);
    this.queue.push(dep.name);
  }

  private async constrain(name: string, c: Constraint, requester: Node, via?: string): Promise<void> {
    const target = this.nodes.get(name)!;
    requester.deps.push(name);
    target.constraints.push(via === undefined ? c : { ...c, from: `${c.from} (${via})` });
    if (semver.satisfies(target.version, c.range)) return;
    if (target.pinnedBy !== undefined) throw conflictError(this.nodes, name, c, requester, target);
    const versions = await this.versions(name);
    const version = pickVersion(target.constraints, versions);
    if (version === undefined || !satisfiesAll(version, target.constraints)) {
      throw conflictError(this.nodes, name, c, requester, target, versions);
    }
    const stale = label(target);
    const { ref, config } = await this.load(name, version, requester);
    for (const n of this.nodes.values()) n.constraints = n.constraints.filter((k) => !k.from.startsWith(`${stale} `) && k.from !== stale);
    Object.assign(target, { version, ref, config, processed: undefined });
    this.queue.push(name);
  }

  private async load(name: string, version: string, requester: Node): Promise<{ ref: string; config: ArtifactConfig }> {
    let ref: string;
    try {
      ({ ref } = await this.opts.resolveRef(name, version, { signal: this.opts.signal }));
    } catch (err) {
      throw new RulesctlError(isRulesctlError(err) ? err.code : ErrorCodes.UNKNOWN_ARTIFACT,
        `unable to resolve reference for dependency "${name}" required by "${requester.name}": ${(err as Error).message}`,
        { cause: err, hint: isRulesctlError(err) ? err.hint : undefined });
    }
    const config = await this.opts.fetchConfig(ref, { signal: this.opts.signal });
    if (config.name !== undefined && config.name !== '' && config.name !== name) {
      this.warnings.push(`${ref}: config name "${config.name}" differs from the dependency name "${name}"`);
    }
    if (config.version !== undefined && config.version !== '' && toVersion(config.version, `version of "${ref}"`) !== version) {
      this.warnings.push(`${ref}: config version ${config.version} differs from its tag ${version}`);
    }
    return { ref, config };
  }
}

function reasonOf(n: Node): string {
  if (n.pinnedBy !== undefined) return `requested as ${n.pinnedBy}`;
  const wanted = n.constraints.map((c) => describeConstraint(n.name, c.min)).join(', ');
  return `${n.how ?? 'the highest version in range'} for ${wanted}`;
}

/** Dependencies first (depth-first post-order from the roots); unreachable artifacts are dropped. */
function order(nodes: Map<string, Node>, roots: string[]): Node[] {
  const out: Node[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const n = nodes.get(name)!;
    for (const d of n.deps) visit(d);
    out.push(n);
  };
  roots.forEach(visit);
  return out;
}

/**
 * Resolves roots and their dependencies (spec §9), improving on falcoctl: each dependency
 * `name:X.Y.Z` means `>=X.Y.Z <(X+1).0.0` (same major compatible, 0.x included, as falcoctl
 * compares) and the HIGHEST available version satisfying every dependent is chosen (falcoctl takes
 * the exact minimum; that rule still applies when `listVersions` is not given). Roots are pinned:
 * duplicates of one name keep the highest version (with a warning), and a dependent needing
 * another version of a root fails with the whole chain. An already-chosen alternative satisfies a
 * dependency. Cycles are fine when versions agree. Errors: ERR_DEPENDENCY_CONFLICT, ERR_INVALID_CONFIG
 * (non-semver versions), ERR_DEPENDENCY_CYCLE (no convergence).
 */
export async function resolveDependencies(roots: readonly RootRequest[], opts: ResolveDependenciesOptions): Promise<DependencyResolution> {
  const r = new Resolver(opts);
  for (const root of roots) await r.addRoot(root);
  const rootNames = [...r.nodes.values()].map((n) => n.name);
  if (opts.resolveDeps !== false) await r.run();
  else for (const n of r.nodes.values()) n.deps = [];
  const artifacts = order(r.nodes, rootNames).map((n) => ({
    name: n.name, version: n.version, ref: n.ref, config: n.config,
    requested: n.pinnedBy !== undefined,
    reason: reasonOf(n),
    requiredBy: n.constraints.map((c) => `${c.from} needs ${describeConstraint(n.name, c.min)}`),
    dependencies: [...new Set(n.deps)],
  }));
  return { artifacts, warnings: r.warnings };
}
