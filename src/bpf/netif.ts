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

/** The interface's driver as `ethtool -i` names it ("veth", "tun", ...); "" when it reports none. */
export function ifDriverOf(iface: string): string {
  return call(`interface ${iface}`, () => native.ifDriver(iface), 'lookup');
}
