/**
 * The Grafana foundation SDK, loaded on first use. It is a tree of ~100 CommonJS files that
 * takes a tenth of a second or more to load, and only rendering dashboards needs it: `validate`
 * reads the panel queries from the specs (compose.ts `specQueries`), so `fedstack validate`
 * and `--help` never pay for it. CommonJS can be required synchronously, which keeps the
 * generators synchronous and pure.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface GrafanaSdk {
  readonly dashboard: typeof import('@grafana/grafana-foundation-sdk/dashboard');
  readonly prometheus: typeof import('@grafana/grafana-foundation-sdk/prometheus');
  readonly common: typeof import('@grafana/grafana-foundation-sdk/common');
  readonly timeseries: typeof import('@grafana/grafana-foundation-sdk/timeseries');
  readonly stat: typeof import('@grafana/grafana-foundation-sdk/stat');
  readonly table: typeof import('@grafana/grafana-foundation-sdk/table');
}

let loaded: GrafanaSdk | undefined;

export function grafanaSdk(): GrafanaSdk {
  loaded ??= {
    dashboard: require('@grafana/grafana-foundation-sdk/dashboard'),
    prometheus: require('@grafana/grafana-foundation-sdk/prometheus'),
    common: require('@grafana/grafana-foundation-sdk/common'),
    timeseries: require('@grafana/grafana-foundation-sdk/timeseries'),
    stat: require('@grafana/grafana-foundation-sdk/stat'),
    table: require('@grafana/grafana-foundation-sdk/table'),
  };
  return loaded;
}
