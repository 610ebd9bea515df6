/** Go's GOARCH name for Node's `process.arch` (falcoctl and OCI platforms use Go names). */
export function goArch(arch: string): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return names[arch] ?? arch;
}

/** The host's platform in Go's GOOS/GOARCH names (falcoctl.md §4: `linux/amd64`). */
export function hostPlatform(platform: string = process.platform, arch: string = process.arch): { os: string; architecture: string } {
  return { os: platform === 'win32' ? 'windows' : platform, architecture: goArch(arch) };
}
