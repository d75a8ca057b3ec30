// The config parser: text (YAML or JSON) or CLI flags to a validated Config.
// The second door of src/config (index.ts explains why there are two): it
// loads zod and yaml, so importers are the paths that read config text.
export { loadConfigFile, readConfigText, parseConfig, unwrapConfig, validateConfig, type ConfigResult, type ParseOptions } from './load.js';
export { configFromFlags, quickFormDocument, type QuickFlags } from './flags.js';
export { detectFormat, type SourceFormat } from './document.js';
export type { ConfigInput } from './schema.js';
