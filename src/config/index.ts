// Public surface of the config module. It turns text into a validated,
// immutable Config and knows nothing of BPF maps or the kernel.
export type {
  CapacityConfig,
  ClusterConfig,
  EtcdConfig,
  Config,
  DfMode,
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
export { CONFIG_DEFAULTS } from './types.js';
export { ConfigError, formatConfigIssue, formatConfigIssues, type ConfigIssue } from './errors.js';
export { loadConfigFile, readConfigText, parseConfig, unwrapConfig, validateConfig, type ConfigResult, type ParseOptions } from './load.js';
export { configFromFlags, quickFormDocument, type QuickFlags } from './flags.js';
export { detectFormat, type SourceFormat } from './document.js';
export type { ConfigInput } from './schema.js';
export { CAPACITY_MAX, VNI_MAX } from './limits.js';
export { interfaceNameProblem, neighborMacProblem, normalizeMac, overlayAddressProblem, parseIp, underlayAddressProblem } from './addresses.js';
export { describeValue } from './describe.js';
