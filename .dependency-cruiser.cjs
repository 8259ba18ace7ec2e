/**
 * fedstack's architecture, enforced by `npm run lint` (dependency-cruiser):
 *   model (topology/) ← tier generators ← render plan ← CLI / server / local stack.
 * See README "How it fits together".
 */
const TIERS = ['edge', 'cascade', 'central', 'alerting', 'dashboards'];
/** Pure generators: model in, typed objects out. */
const GENERATORS =
  '^(edge|cascade|central|dashboards|topology|common|capacity|render|deploy/manifests)/|^alerting/[^/]+\\.ts$';
/** What runs a network service or a process: never imported by a generator. */
const RUNTIME = '^(server|cli|sidecar|simulator|bench|deploy/local|alerting/bridge)/';

module.exports = {
  forbidden: [
    ...TIERS.map((tier) => ({
      name: `tier-${tier}-is-independent`,
      comment: `Tiers never import each other: ${tier}/ may import the model and common/, not another tier. Shared facts go in topology/ or common/; the render plan joins tiers.`,
      severity: 'error',
      from: { path: `^${tier}/` },
      to: { path: `^(${TIERS.filter((t) => t !== tier).join('|')})/` },
    })),
    {
      name: 'topology-imports-no-tier',
      comment:
        'The model (topology/) knows no tier, no render plan, no runtime: checks that need rendered outputs run on the plan (render/check.ts).',
      severity: 'error',
      from: { path: '^topology/' },
      to: {
        path: '^(edge|cascade|central|alerting|dashboards|deploy|render|server|cli|sidecar|simulator|capacity|bench)/',
      },
    },
    {
      name: 'common-is-a-leaf',
      comment: 'common/ (conventions, serializer, flag contracts) imports nothing else of fedstack.',
      severity: 'error',
      from: { path: '^common/' },
      to: { path: '^(?!common/)[a-z-]+/' },
    },
    {
      name: 'generators-know-no-runtime',
      comment: 'Generators are pure: they import no HTTP server, CLI, sidecar, bridge or local-stack code.',
      severity: 'error',
      from: { path: GENERATORS },
      to: { path: RUNTIME },
    },
    {
      name: 'generators-know-no-http',
      comment: 'Generators are pure: no HTTP libraries.',
      severity: 'error',
      from: { path: GENERATORS },
      to: {
        path: [
          '^node_modules/(@types/)?(express|axios|supertest|node-cache|smtp-server|nodemailer)/',
          '^(node:)?(http|https|http2|net)$',
        ],
      },
    },
    {
      name: 'no-cycles',
      comment: 'No import cycles anywhere.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'A source file nothing imports is dead (entry points, tests, benches and scripts excepted).',
      severity: 'error',
      from: {
        orphan: true,
        pathNot: [
          '^test/',
          '^bench/',
          '^scripts/',
          '^bin/',
          '\\.d\\.ts$',
          '(^|/)\\.[^/]+\\.(c|m)?js$',
          '^eslint\\.config\\.js$',
        ],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|out|\\.tmp)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
