import { MemoryStore } from '../../../src/oci/memory/store.js';
import type { Target } from '../../../src/oci/target.js';

/** The shared MemoryStore, wrapped to record the write calls a push makes, in order. */
export class TestTarget implements Target {
  readonly store = new MemoryStore({ name: 'memory:test' });
  readonly name = this.store.name;
  readonly blobs = this.store.blobs;
  readonly calls: string[] = [];

  fetch: Target['fetch'] = (desc, opts) => this.store.fetch(desc, opts);
  exists: Target['exists'] = (desc, opts) => this.store.exists(desc, opts);
  resolve: Target['resolve'] = (ref, opts) => this.store.resolve(ref, opts);
  fetchManifest: Target['fetchManifest'] = (ref, opts) => this.store.fetchManifest(ref, opts);

  push: Target['push'] = async (desc, body, opts) => {
    this.calls.push(`push ${desc.mediaType} ${desc.digest}`);
    await this.store.push(desc, body, opts);
  };
  tag: Target['tag'] = async (desc, reference, opts) => {
    this.calls.push(`tag ${reference}`);
    await this.store.tag(desc, reference, opts);
  };
  pushManifest: Target['pushManifest'] = async (desc, bytes, reference, opts) => {
    this.calls.push(`manifest ${desc.mediaType} ${reference ?? desc.digest}`);
    await this.store.pushManifest(desc, bytes, reference, opts);
  };
}
