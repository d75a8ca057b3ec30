// Interface names are resolved in the calling thread's network namespace.
import { call } from './errors.js';
import { native } from './native.js';

export function ifindexOf(iface: string | number): number {
  if (typeof iface === 'number') return iface;
  return call(`interface ${iface}`, () => native.ifNameToIndex(iface), 'lookup');
}

export function ifnameOf(ifindex: number): string {
  return call(`ifindex ${ifindex}`, () => native.ifIndexToName(ifindex), 'lookup');
}
