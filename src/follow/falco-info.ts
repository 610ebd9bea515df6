import { parseFalcoPluginVersions } from '../resolve/requirements.js';
import { fetchFalcoVersions, undiciGet, type FalcoClientOptions, type FalcoVersions } from './falco-client.js';

/** Falco's `/versions`, read once: the string values (falcoctl's map) and `plugin_versions`. */
export interface FalcoInfo {
  versions: FalcoVersions;
  /** Empty when Falco reports no plugins. */
  pluginVersions: Record<string, string>;
}

/**
 * One successful GET of Falco's `/versions` (with falcoctl's retries, falcoctl.md §11 "Startup"),
 * kept whole so plugin versions need no second request.
 */
export async function readFalcoInfo(url: string, opts: FalcoClientOptions = {}): Promise<FalcoInfo> {
  let body = '';
  const get = opts.get ?? undiciGet;
  const versions = await fetchFalcoVersions(url, {
    ...opts,
    get: async (u, o) => {
      const res = await get(u, o);
      body = res.body;
      return res;
    },
  });
  let pluginVersions: Record<string, string> = {};
  try {
    pluginVersions = parseFalcoPluginVersions(body);
  } catch {
    pluginVersions = {};
  }
  return { versions, pluginVersions };
}
