import { describe, expect, it } from 'vitest';
import { formatConfigIssues, type ConfigIssue } from '../../src/config/index.js';
import { parseConfig } from '../../src/config/parser.js';

/** A valid IPv4 underlay header, so each case below breaks one thing. */
const U4 = 'underlay: { interface: eth0, address: 192.0.2.1 }\n';
const U6 = 'underlay: { interface: eth0, address: "2001:db8::1" }\n';
const V = (body: string) => `${U4}vnis:\n  - ${body}\n`;

interface Case {
  readonly name: string;
  readonly text: string;
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly source?: string;
}

const CASES: readonly Case[] = [
  // MACs
  { name: 'bad MAC', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "zz:00:00:00:00:01", remote: 192.0.2.2 }] }'), path: 'vnis[0].fdb[0].mac', message: '"zz:00:00:00:00:01" is not a MAC address' },
  { name: 'MAC with mixed separators', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "02:00-00:00:00:01", remote: 192.0.2.2 }] }'), path: 'vnis[0].fdb[0].mac', message: 'is not a MAC address' },
  { name: 'short MAC', text: V('{ vni: 1, endpoints: [v1], neighbors: [{ ip: 10.0.0.1, mac: "02:00:00:00:01" }] }'), path: 'vnis[0].neighbors[0].mac', message: 'is not a MAC address' },
  { name: 'multicast FDB MAC', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "01:00:5E:00:00:01", remote: 192.0.2.2 }] }'), path: 'vnis[0].fdb[0].mac', message: '01:00:5e:00:00:01 is a multicast MAC' },
  { name: 'broadcast FDB MAC', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "ff:ff:ff:ff:ff:ff", remote: 192.0.2.2 }] }'), path: 'vnis[0].fdb[0].mac', message: 'multicast MAC' },
  { name: 'all-zero neighbor MAC', text: V('{ vni: 1, endpoints: [v1], neighbors: [{ ip: 10.0.0.1, mac: "00:00:00:00:00:00" }] }'), path: 'vnis[0].neighbors[0].mac', message: "cannot be a neighbor's MAC" },
  { name: 'MAC given as a number', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: 42, remote: 192.0.2.2 }] }'), path: 'vnis[0].fdb[0].mac', message: 'expected a string, got 42' },

  // VNIs
  { name: 'VNI 0', text: V('{ vni: 0, endpoints: [v1] }'), path: 'vnis[0].vni', message: 'VNI 0 is out of range 1..16777215', line: 3 },
  { name: 'VNI 2^24', text: V('{ vni: 16777216, endpoints: [v1] }'), path: 'vnis[0].vni', message: 'VNI 16777216 is out of range 1..16777215' },
  { name: 'duplicate VNI', text: `${U4}vnis:\n  - { vni: 42, endpoints: [v1] }\n  - { vni: 0x2a, endpoints: [v2] }\n`, path: 'vnis[1].vni', message: 'VNI 42 is already defined at vnis[0]', line: 4 },
  { name: 'VNI as a string', text: V('{ vni: "42", endpoints: [v1] }'), path: 'vnis[0].vni', message: 'expected an integer, got "42"' },
  { name: 'no VNIs', text: `${U4}vnis: []\n`, path: 'vnis', message: 'at least one VNI is required' },
  { name: 'missing vnis', text: U4, path: 'vnis', message: 'required key is missing' },
  { name: 'VNI without endpoints', text: V('{ vni: 1, endpoints: [] }'), path: 'vnis[0].endpoints', message: 'at least one endpoint interface is required' },

  // Duplicates
  { name: 'duplicate YAML key', text: 'underlay:\n  interface: eth0\n  port: 4789\n  port: 4790\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: '', message: 'duplicate key "port"', line: 4 },
  { name: 'duplicate JSON key', source: 'c.json', text: '{\n  "underlay": { "interface": "eth0" },\n  "vnis": [{ "vni": 1, "endpoints": ["v1"], "vni": 2 }]\n}\n', path: '', message: 'duplicate key "vni"', line: 3 },
  { name: 'duplicate FDB MAC', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "02:00:00:00:00:01", remote: 192.0.2.2 }, { mac: "02-00-00-00-00-01", remote: 192.0.2.3 }] }'), path: 'vnis[0].fdb[1].mac', message: 'MAC 02:00:00:00:00:01 already has an FDB entry at vnis[0].fdb[0]' },
  { name: 'duplicate flood entry', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "00:00:00:00:00:00", remote: 192.0.2.2 }, { mac: "00:00:00:00:00:00", remote: 192.0.2.2 }] }'), path: 'vnis[0].fdb[1].remote', message: 'the flood entry for 192.0.2.2 is already at vnis[0].fdb[0]' },
  { name: 'duplicate neighbor IP', text: V('{ vni: 1, endpoints: [v1], neighbors: [{ ip: "2001:db8::5", mac: "02:00:00:00:00:01" }, { ip: "2001:DB8:0::5", mac: "02:00:00:00:00:02" }] }'), path: 'vnis[0].neighbors[1].ip', message: 'neighbor 2001:db8::5 is already defined at vnis[0].neighbors[0]' },
  { name: 'duplicate peer', text: V('{ vni: 1, endpoints: [v1], peers: [192.0.2.2, 192.0.2.3, 192.0.2.2] }'), path: 'vnis[0].peers[2]', message: 'peer 192.0.2.2 is already listed at vnis[0].peers[0]' },
  { name: 'duplicate endpoint in one VNI', text: V('{ vni: 1, endpoints: [v1, v1] }'), path: 'vnis[0].endpoints[1]', message: 'endpoint v1 is already listed at vnis[0].endpoints[0]' },

  // Unknown keys, at every level
  { name: 'unknown top-level key', text: `${U4}vnis: [{ vni: 1, endpoints: [v1] }]\nmetric: {}\n`, path: 'metric', message: 'unknown key; did you mean metrics?', line: 3 },
  { name: 'unknown underlay key', text: 'underlay: { interface: eth0, prot: 4789 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.prot', message: 'did you mean port?' },
  { name: 'unknown VNI key', text: V('{ vni: 1, endpoints: [v1], peer: [192.0.2.2] }'), path: 'vnis[0].peer', message: 'did you mean peers?' },
  { name: 'unknown FDB entry key', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "02:00:00:00:00:01", dst: 192.0.2.2 }] }'), path: 'vnis[0].fdb[0].dst', message: 'unknown key; expected one of: mac, remote, endpoint' },
  { name: 'unknown neighbor key', text: V('{ vni: 1, endpoints: [v1], neighbors: [{ ip: 10.0.0.1, mac: "02:00:00:00:00:01", vlan: 3 }] }'), path: 'vnis[0].neighbors[0].vlan', message: 'unknown key' },
  { name: 'unknown metrics key', text: `${V('{ vni: 1, endpoints: [v1] }')}metrics: { listen: "127.0.0.1:1", path: /m }\n`, path: 'metrics.path', message: 'unknown key' },
  { name: 'unknown state key', text: `${V('{ vni: 1, endpoints: [v1] }')}state: { pindir: /sys/fs/bpf/x }\n`, path: 'state.pindir', message: 'did you mean pinDir?' },
  { name: 'unknown capacity key', text: `${V('{ vni: 1, endpoints: [v1] }')}capacity: { fdbs: 10 }\n`, path: 'capacity.fdbs', message: 'did you mean fdb?' },
  { name: 'unknown key with odd characters', text: 'underlay: { interface: eth0, "my key": 1 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay["my key"]', message: 'unknown key' },

  // Underlay addresses
  { name: 'multicast VTEP address', text: 'underlay: { interface: eth0, address: 239.1.1.1 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.address', message: '239.1.1.1 is a multicast address' },
  { name: 'broadcast VTEP address', text: 'underlay: { interface: eth0, address: 255.255.255.255 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.address', message: 'is the broadcast address' },
  { name: 'loopback VTEP address', text: 'underlay: { interface: eth0, address: 127.0.0.1 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.address', message: '127.0.0.1 is a loopback address' },
  { name: 'unspecified VTEP address', text: 'underlay: { interface: eth0, address: "::" }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.address', message: ':: is an unspecified address' },
  { name: 'link-local VTEP address', text: 'underlay: { interface: eth0, address: "fe80::1" }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.address', message: 'fe80::1 is a link-local address' },
  { name: 'unspecified peer', text: V('{ vni: 1, endpoints: [v1], peers: [0.0.0.0] }'), path: 'vnis[0].peers[0]', message: '0.0.0.0 is an unspecified address' },
  { name: 'multicast peer', text: `${U6}vnis: [{ vni: 1, endpoints: [v1], peers: ["ff02::1"] }]\n`, path: 'vnis[0].peers[0]', message: 'ff02::1 is a multicast address' },
  { name: 'loopback FDB remote', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "02:00:00:00:00:01", remote: 127.0.0.2 }] }'), path: 'vnis[0].fdb[0].remote', message: 'is a loopback address' },
  { name: 'IPv4-mapped peer', text: V('{ vni: 1, endpoints: [v1], peers: ["::ffff:192.0.2.2"] }'), path: 'vnis[0].peers[0]', message: 'IPv4-mapped' },
  { name: 'peer that is not an address', text: V('{ vni: 1, endpoints: [v1], peers: [192.0.2.300] }'), path: 'vnis[0].peers[0]', message: '"192.0.2.300" is not an IP address' },
  { name: 'peer with a zone index', text: `${U6}vnis: [{ vni: 1, endpoints: [v1], peers: ["2001:db8::2%eth0"] }]\n`, path: 'vnis[0].peers[0]', message: 'is not an IP address' },
  { name: 'multicast neighbor IP', text: V('{ vni: 1, endpoints: [v1], neighbors: [{ ip: 224.0.0.5, mac: "02:00:00:00:00:01" }] }'), path: 'vnis[0].neighbors[0].ip', message: 'a neighbor address must be unicast' },

  // Families
  { name: 'IPv6 peer on an IPv4 underlay', text: V('{ vni: 1, endpoints: [v1], peers: ["2001:db8::2"] }'), path: 'vnis[0].peers[0]', message: '2001:db8::2 is IPv6 but underlay.address 192.0.2.1 is IPv4' },
  { name: 'IPv4 FDB remote on an IPv6 underlay', text: `${U6}vnis: [{ vni: 1, endpoints: [v1], fdb: [{ mac: "02:00:00:00:00:01", remote: 192.0.2.9 }] }]\n`, path: 'vnis[0].fdb[0].remote', message: '192.0.2.9 is IPv4 but underlay.address 2001:db8::1 is IPv6' },
  { name: 'mixed peer families without an underlay address', text: 'underlay: { interface: eth0 }\nvnis:\n  - { vni: 1, endpoints: [v1], peers: [192.0.2.2] }\n  - { vni: 2, endpoints: [v2], peers: ["2001:db8::2"] }\n', path: 'vnis[1].peers[0]', message: 'but vnis[0].peers[0] 192.0.2.2 is IPv4; all peers and FDB remotes must share one family' },

  // Interfaces
  { name: 'endpoint in two VNIs', text: `${U4}vnis:\n  - { vni: 1, endpoints: [v1] }\n  - { vni: 2, endpoints: [v2, v1] }\n`, path: 'vnis[1].endpoints[1]', message: 'endpoint v1 is already bound to VNI 1 at vnis[0]' },
  { name: 'endpoint equal to the underlay', text: V('{ vni: 1, endpoints: [eth0] }'), path: 'vnis[0].endpoints[0]', message: 'eth0 is the underlay interface' },
  { name: 'interface name with a slash', text: 'underlay: { interface: eth0/1 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.interface', message: '"eth0/1" is not an interface name' },
  { name: 'interface name too long', text: V('{ vni: 1, endpoints: [abcdefghijklmnop] }'), path: 'vnis[0].endpoints[0]', message: '16 bytes, the kernel allows at most 15' },
  { name: 'interface name ..', text: V('{ vni: 1, endpoints: [".."] }'), path: 'vnis[0].endpoints[0]', message: '".." is not an interface name' },
  { name: 'interface name with a space', text: V('{ vni: 1, endpoints: ["v 1"] }'), path: 'vnis[0].endpoints[0]', message: 'whitespace' },
  { name: 'missing underlay.interface', text: 'underlay: { address: 192.0.2.1 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.interface', message: 'required key is missing', line: 1 },
  { name: 'missing underlay', text: 'vnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay', message: 'required key is missing' },
  { name: 'local FDB entry on a foreign endpoint', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "02:00:00:00:00:01", endpoint: v9 }] }'), path: 'vnis[0].fdb[0].endpoint', message: 'v9 is not an endpoint of VNI 1 (endpoints: v1)' },
  { name: 'FDB entry with remote and endpoint', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "02:00:00:00:00:01", endpoint: v1, remote: 192.0.2.2 }] }'), path: 'vnis[0].fdb[0].endpoint', message: 'either remote or endpoint, not both' },
  { name: 'FDB entry with neither', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "02:00:00:00:00:01" }] }'), path: 'vnis[0].fdb[0]', message: 'needs either remote' },
  { name: 'flood MAC bound to an endpoint', text: V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "00:00:00:00:00:00", endpoint: v1 }] }'), path: 'vnis[0].fdb[0].mac', message: 'it takes a remote, not an endpoint' },

  // Numbers and enums
  { name: 'ttl 0', text: 'underlay: { interface: eth0, ttl: 0 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.ttl', message: 'TTL 0 is out of range 1..255' },
  { name: 'ttl 256', text: 'underlay: { interface: eth0, ttl: 256 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.ttl', message: 'TTL 256 is out of range 1..255' },
  { name: 'port 0', text: 'underlay: { interface: eth0, port: 0 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.port', message: 'port 0 is out of range 1..65535' },
  { name: 'port 65536', text: 'underlay: { interface: eth0, port: 65536 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.port', message: 'port 65536 is out of range 1..65535' },
  { name: 'fractional port', text: 'underlay: { interface: eth0, port: 4789.5 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.port', message: 'expected an integer, got 4789.5' },
  { name: 'srcPortMin above srcPortMax', text: 'underlay: { interface: eth0, srcPortMin: 50000, srcPortMax: 40000 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.srcPortMin', message: 'srcPortMin 50000 is greater than srcPortMax 40000' },
  { name: 'tos out of range', text: 'underlay: { interface: eth0, tos: 256 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.tos', message: 'expected inherit or an integer 0..255, got 256' },
  { name: 'unknown df mode', text: 'underlay: { interface: eth0, df: on }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.df', message: 'expected one of unset, set, inherit, got "on"' },
  { name: 'unknown xdpMode', text: 'underlay: { interface: eth0, xdpMode: generic }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.xdpMode', message: 'expected one of native, skb, got "generic"' },
  { name: 'MTU too small', text: 'underlay: { interface: eth0, mtu: 100 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.mtu', message: 'MTU 100 is out of range 118..65535' },
  { name: 'MTU below the IPv6 minimum', text: `underlay: { interface: eth0, address: "2001:db8::1", mtu: 1000 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n`, path: 'underlay.mtu', message: 'below 1280' },
  { name: 'negative ageing', text: V('{ vni: 1, endpoints: [v1], ageingSeconds: -1 }'), path: 'vnis[0].ageingSeconds', message: '-1 is out of range 0..4294967295' },
  { name: 'unknown endpointXdp', text: V('{ vni: 1, endpoints: [v1], endpointXdp: native }'), path: 'vnis[0].endpointXdp', message: 'expected one of off, on, frags, auto, got "native"', line: 3 },
  { name: 'endpointXdp as a boolean', text: V('{ vni: 1, endpoints: [v1], endpointXdp: true }'), path: 'vnis[0].endpointXdp', message: 'expected one of off, on, frags, auto, got true' },
  { name: 'YAML 1.1 boolean', text: V('{ vni: 1, endpoints: [v1], learning: yes }'), path: 'vnis[0].learning', message: 'expected true or false, got "yes"' },
  { name: 'list where a mapping belongs', text: 'underlay: [eth0]\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay', message: 'expected a mapping, got a list' },
  { name: 'string where a list belongs', text: V('{ vni: 1, endpoints: veth0 }'), path: 'vnis[0].endpoints', message: 'expected a list, got "veth0"' },
  { name: 'empty value', text: 'underlay:\n  interface:\nvnis: [{ vni: 1, endpoints: [v1] }]\n', path: 'underlay.interface', message: 'expected a string, got an empty value (null)', line: 2 },
  { name: 'capacity 0', text: `${V('{ vni: 1, endpoints: [v1] }')}capacity: { peers: 0 }\n`, path: 'capacity.peers', message: '0 is out of range 1..16777216' },
  { name: 'fractional maxVniSeries', text: `${V('{ vni: 1, endpoints: [v1] }')}metrics: { maxVniSeries: 1.5 }\n`, path: 'metrics.maxVniSeries', message: 'expected an integer, got 1.5' },

  // Metrics and state
  { name: 'listen without a port', text: `${V('{ vni: 1, endpoints: [v1] }')}metrics: { listen: localhost }\n`, path: 'metrics.listen', message: '"localhost" is not host:port' },
  { name: 'listen on port 0', text: `${V('{ vni: 1, endpoints: [v1] }')}metrics: { listen: "[::1]:0" }\n`, path: 'metrics.listen', message: 'port "0" is not in 1..65535' },
  { name: 'listen with a bare IPv6 address', text: `${V('{ vni: 1, endpoints: [v1] }')}metrics: { listen: "::1:9469" }\n`, path: 'metrics.listen', message: 'put an IPv6 address in brackets' },
  { name: 'listen on a bad host', text: `${V('{ vni: 1, endpoints: [v1] }')}metrics: { listen: "bad_host!:9469" }\n`, path: 'metrics.listen', message: 'is neither an IP address nor a host name' },
  { name: 'relative pinDir', text: `${V('{ vni: 1, endpoints: [v1] }')}state: { pinDir: bpf/xvtep }\n`, path: 'state.pinDir', message: '"bpf/xvtep" is not an absolute path' },
  { name: 'pinDir /', text: `${V('{ vni: 1, endpoints: [v1] }')}state: { pinDir: /// }\n`, path: 'state.pinDir', message: 'cannot be / itself' },

  // Sizes
  { name: 'more FDB entries than the map holds', text: `${V('{ vni: 1, endpoints: [v1], fdb: [{ mac: "02:00:00:00:00:01", remote: 192.0.2.2 }, { mac: "02:00:00:00:00:02", remote: 192.0.2.2 }, { mac: "02:00:00:00:00:03", remote: 192.0.2.2 }] }')}capacity: { fdb: 2 }\n`, path: 'capacity.fdb', message: 'the file lists 3 static FDB entries but capacity.fdb is 2', line: 4 },
  { name: 'more VNIs than the map holds', text: `${U4}vnis:\n  - { vni: 1, endpoints: [v1] }\n  - { vni: 2, endpoints: [v2] }\ncapacity: { vnis: 1 }\n`, path: 'capacity.vnis', message: 'the file lists 2 VNIs but capacity.vnis is 1' },
  { name: 'more peers than the map holds', text: `${V('{ vni: 1, endpoints: [v1], peers: [192.0.2.2, 192.0.2.3] }')}capacity: { peers: 1 }\n`, path: 'capacity.peers', message: 'the file lists 2 (VNI, peer) pairs but capacity.peers is 1' },

  // Syntax and document shape
  { name: 'bad YAML syntax', text: 'underlay:\n  interface: eth0\nvnis: [{ vni: 1, endpoints: [v1]\nstate: {}\n', path: '', message: 'invalid YAML', line: 4 },
  { name: 'tab indentation', text: 'underlay:\n\tinterface: eth0\n', path: '', message: 'invalid YAML: Tabs are not allowed as indentation', line: 2 },
  { name: 'bad JSON syntax', source: 'c.json', text: '{\n  "underlay": { "interface": "eth0" },\n  "vnis": [\n    { "vni": 1 "endpoints": ["v1"] }\n  ]\n}\n', path: '', message: "invalid JSON: Expected ',' or '}' after property value", line: 4 },
  { name: 'JSON value error, located', source: 'c.json', text: '{\n  "underlay": { "interface": "eth0", "ttl": 300 },\n  "vnis": [{ "vni": 1, "endpoints": ["v1"] }]\n}\n', path: 'underlay.ttl', message: 'TTL 300 is out of range 1..255', line: 2 },
  { name: 'JSON unknown key, located', source: 'c.json', text: '{\n  "underlay": { "interface": "eth0" },\n  "vnis": [\n    { "vni": 1, "endpoints": ["v1"],\n      "lerning": false }\n  ]\n}\n', path: 'vnis[0].lerning', message: 'did you mean learning?', line: 5 },
  { name: 'JSON bare word', source: 'c.json', text: '{\n  "underlay": { "interface": eth0 }\n}\n', path: '', message: 'invalid JSON', line: 2 },
  { name: 'two YAML documents', text: `${V('{ vni: 1, endpoints: [v1] }')}---\nfoo: 1\n`, path: '', message: 'multiple documents', line: 4 },
  { name: 'unknown YAML tag', text: `underlay: { interface: !iface eth0 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n`, path: '', message: 'Unresolved tag: !iface', line: 1 },
  { name: 'empty file', text: '', path: '', message: 'the file is empty' },
  { name: 'comments only', text: '# nothing yet\n\n', path: '', message: 'the file is empty' },
  { name: 'top-level list', text: '- underlay\n', path: '', message: 'the top level must be a mapping' },
];

function errorsOf(text: string, source = 'test.yaml'): readonly ConfigIssue[] {
  const result = parseConfig(text, source);
  if (result.ok) throw new Error(`expected ${source} to be rejected:\n${text}`);
  return result.errors;
}

describe('invalid configurations', () => {
  it('covers enough broken files', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(35);
  });

  it.each(CASES)('$name → $path', ({ text, path, message, line, source }) => {
    const errors = errorsOf(text, source);
    const match = errors.find((e) => e.path === path && e.message.includes(message));
    expect(match, `no issue at "${path}" containing "${message}"; got:\n${formatConfigIssues(errors, source ?? 'test.yaml')}`).toBeDefined();
    if (line !== undefined) expect(match?.line).toBe(line);
  });

  it('reports every problem in one pass, in file order', () => {
    const text = [
      'underlay:',
      '  interface: eth0',
      '  address: 192.0.2.1',
      '  ttl: 0',
      '  srcPortMin: 61000',
      '  colour: blue',
      'vnis:',
      '  - vni: 42',
      '    endpoints: [veth0, eth0]',
      '    peers: [192.0.2.2, "2001:db8::2"]',
      '    fdb:',
      '      - { mac: "zz", remote: 192.0.2.2 }',
      '      - { mac: "01:00:00:00:00:01", remote: 192.0.2.2 }',
      '    learning: maybe',
      '  - vni: forty-two',
      '    endpoints: [veth0]',
      '  - vni: 42',
      '    endpoints: [veth1]',
      'metrics: { listen: nowhere }',
      'state: { pinDir: relative }',
    ].join('\n');
    const errors = errorsOf(text, 'many.yaml');
    expect(formatConfigIssues(errors, 'many.yaml').split('\n')).toEqual([
      'many.yaml:4:8: underlay.ttl: TTL 0 is out of range 1..255',
      'many.yaml:5:15: underlay.srcPortMin: srcPortMin 61000 is greater than srcPortMax 60999',
      'many.yaml:6:3: underlay.colour: unknown key; expected one of: interface, address, port, srcPortMin, srcPortMax, xdpMode, tcMode, ttl, tos, df, udpChecksumV6, mtu',
      'many.yaml:9:24: vnis[0].endpoints[1]: eth0 is the underlay interface; it cannot also be an endpoint',
      'many.yaml:10:24: vnis[0].peers[1]: 2001:db8::2 is IPv6 but underlay.address 192.0.2.1 is IPv4; a VTEP has one underlay family',
      'many.yaml:12:16: vnis[0].fdb[0].mac: "zz" is not a MAC address (expected six hex pairs such as 02:00:00:00:00:01)',
      'many.yaml:13:16: vnis[0].fdb[1].mac: 01:00:00:00:00:01 is a multicast MAC; FDB entries need a unicast MAC, or 00:00:00:00:00:00 for the flood default',
      'many.yaml:14:15: vnis[0].learning: expected true or false, got "maybe"',
      'many.yaml:15:10: vnis[1].vni: expected an integer, got "forty-two"',
      'many.yaml:16:17: vnis[1].endpoints[0]: endpoint veth0 is already bound to VNI 42 at vnis[0]',
      'many.yaml:17:10: vnis[2].vni: VNI 42 is already defined at vnis[0]',
      'many.yaml:19:20: metrics.listen: "nowhere" is not host:port (e.g. 127.0.0.1:9469)',
      'many.yaml:20:18: state.pinDir: "relative" is not an absolute path',
    ]);
  });

  it('reports every duplicate YAML key', () => {
    const errors = errorsOf('underlay:\n  interface: eth0\n  interface: eth1\nvnis: []\nvnis: []\n');
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [3, 'duplicate key "interface"'],
      [5, 'duplicate key "vnis"'],
    ]);
  });

  it('gates oversized lists before checking a million entries', () => {
    const fdb = Array.from({ length: 200_000 }, () => ({ mac: 'not a mac', remote: '192.0.2.2' }));
    const text = JSON.stringify({ underlay: { interface: 'eth0' }, vnis: [{ vni: 1, endpoints: ['v1'], fdb }], capacity: { fdb: 1024 } });
    const started = Date.now();
    const errors = errorsOf(text, 'big.json');
    expect(errors).toEqual([
      expect.objectContaining({ path: 'capacity.fdb', message: expect.stringContaining('the file lists 200000 static FDB entries but capacity.fdb is 1024') }),
    ]);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
