import type { ArtifactConfig } from '../../../src/artifact/config.js';
import type { DependencyResolvers } from '../../../src/resolve/dependencies.js';

/** `name -> version -> dependencies` where a dependency is `name:version` or `name:ver|alt:ver`. */
export type Graph = Record<string, Record<string, string[]>>;

export function depsOf(list: string[]): ArtifactConfig['dependencies'] {
  return list.map((d) => {
    const [first, ...alts] = d.split('|').map((p) => { const [name, version] = p.split(':'); return { name: name!, version: version! }; });
    return alts.length > 0 ? { ...first!, alternatives: alts } : first!;
  });
}

/** In-memory resolvers over a graph; refs are `reg.io/<name>:<version>`. Counts calls. */
export function resolversFor(graph: Graph, opts: { withVersions?: boolean } = {}): DependencyResolvers & { calls: string[] } {
  const calls: string[] = [];
  const r: DependencyResolvers & { calls: string[] } = {
    calls,
    async fetchConfig(ref) {
      calls.push(`config ${ref}`);
      const m = /^reg\.io\/(.+):(.+)$/.exec(ref);
      const deps = m ? graph[m[1]!]?.[m[2]!] : undefined;
      if (!m || deps === undefined) throw new Error(`no such artifact ${ref}`);
      const config: ArtifactConfig = { name: m[1]!, version: m[2]! };
      if (deps.length > 0) config.dependencies = depsOf(deps);
      return config;
    },
    async resolveRef(name, version) {
      calls.push(`ref ${name}:${version}`);
      return { ref: `reg.io/${name}:${version}` };
    },
  };
  if (opts.withVersions !== false) {
    r.listVersions = async (name) => {
      calls.push(`tags ${name}`);
      return ['latest', ...Object.keys(graph[name] ?? {})];
    };
  }
  return r;
}

export const root = (name: string, version: string) => ({ ref: `reg.io/${name}:${version}`, input: `${name}:${version}` });
