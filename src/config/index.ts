// Public surface of the config module. It turns text into a validated,
// immutable Config and knows nothing of BPF maps or the kernel. Two doors:
// this one (types, defaults, errors, limits, address checks) loads no
// parser; ./parser.ts has the parser itself (zod, yaml), which is most of a
// CLI command's start-up, so only what reads config text imports it.
export type {
  CapacityConfig,
  ClusterConfig,
  EtcdConfig,
  Config,
  DfMode,
  EndpointXdpSetting,
  FdbEntry,
  IpFamily,
  ListenAddress,
  MetricsConfig,
  NeighborEntry,
  StateConfig,
  UnderlayConfig,
  VniConfig,
  XdpMode,
  TcMode,
} from './types.js';
export { CONFIG_DEFAULTS, ENDPOINT_XDP } from './types.js';
export { ConfigError, formatConfigIssue, formatConfigIssues, type ConfigIssue } from './errors.js';
export { INSECURE_FLAG } from './trust.js';
export { CAPACITY_MAX, VNI_MAX } from './limits.js';
export { LEARN_SHARE, RESERVE_SHARE, defaultMaxLearned, learnMaxTotal } from './learn.js';
export { interfaceNameProblem, ipFamily, neighborMacProblem, normalizeMac, overlayAddressProblem, parseIp, underlayAddressProblem } from './addresses.js';
export { describeValue } from './describe.js';
