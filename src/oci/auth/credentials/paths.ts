export type Env = Readonly<Record<string, string | undefined>>;

/** `$DOCKER_CONFIG/config.json`, else `<home>/.docker/config.json` (spec §10, §12). */
export function defaultDockerConfigPath(env: Env, home: string): string {
  const dir = env.DOCKER_CONFIG;
  return dir !== undefined && dir !== '' ? `${dir.replace(/\/+$/, '')}/config.json` : `${home}/.docker/config.json`;
}
