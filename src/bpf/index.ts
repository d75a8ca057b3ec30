// libbpf-ts: the project's typed binding over the system libbpf. It knows
// nothing about VXLAN; src/datapath builds on it.
export * from './addr.js';
export * from './bpffs.js';
export * from './codec.js';
export * from './constants.js';
export * from './errors.js';
export { FdHandle } from './handle.js';
export * from './link.js';
export * from './map.js';
export * from './netif.js';
export * from './netns.js';
export * from './object.js';
export * from './program.js';
export * from './probe.js';
export * from './ring.js';
