// The layer rules of src/ (make lint). Layers, top to bottom:
//   cli > daemon > cluster, metrics  →  reconcile  →  datapath  →  bpf  (→ native addon)
// and config, a leaf that anything may use. A module imports only its own
// layer or the ones below; another folder only through its index.ts; and
// nothing may form a cycle. Type-only imports count (tsPreCompilationDeps).
/** @type {import('dependency-cruiser').IConfiguration} */
const below = {
  cli: ['daemon', 'cluster', 'metrics', 'reconcile', 'datapath', 'bpf', 'config'],
  daemon: ['cluster', 'metrics', 'reconcile', 'datapath', 'bpf', 'config'],
  // the etcd agent (docs/cluster.md): the daemon runs it; it hands views to reconcile
  cluster: ['reconcile', 'datapath', 'bpf', 'config'],
  metrics: ['reconcile', 'datapath', 'bpf', 'config'],
  reconcile: ['datapath', 'bpf', 'config'],
  datapath: ['bpf', 'config'],
  bpf: [],
  config: [],
};
const folders = Object.keys(below);

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can be understood, tested or loaded first alone.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...folders.map((layer) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `src/${layer} may use only ${below[layer].length ? below[layer].join(', ') : 'itself'}` +
        `${layer === 'config' ? ' (and src/version.ts)' : ''}: never a layer above it.`,
      from: { path: `^src/${layer}/` },
      to: {
        path: '^src/',
        pathNot: [`^src/${layer}/`, ...below[layer].map((l) => `^src/${l}/`), '^src/version\\.ts$'],
      },
    })),
    {
      name: 'front-door-only',
      severity: 'error',
      comment: 'Another folder of src/ is entered through its index.ts only; export what is needed there. ' +
        'One second door: src/config/parser.ts, the parser (zod, yaml), kept out of index.ts for start-up time.',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/.+', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$', '^src/config/parser\\.ts$'] },
    },
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment: 'Every folder of src/ has a place in the layers above; add a new one there.',
      from: { path: '^src/' },
      to: { path: '^src/[^/]+/', pathNot: folders.map((l) => `^src/${l}/`) },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|build|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
