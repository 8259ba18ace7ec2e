/** The Alertmanager config the end-to-end tests run (test/local, test/vm). */
import YAML from 'yaml';
import { FILE } from '../../common/conventions.ts';
import { toYaml } from '../../common/serialize.ts';
import { createEmitter } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import type { Topology } from '../../topology/model.ts';

/**
 * The Alertmanager config of the test: the rendered one (routes, inhibitions, grouping), with
 * every receiver pointed at the counting webhook and timers made short. Each alert its own
 * group (`...`), so "once" is countable.
 */
export function webhookAlertmanagerConfig(topo: Topology, hookUrl: string): string {
  const rendered = createEmitter(createPlan(topo, 'local')).file(`alerting/${FILE.alertmanager}`)!;
  const timers = { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' };
  const config = YAML.parse(rendered) as {
    route: Route;
    receivers: { name: string }[];
    templates?: string[];
  };
  interface Route {
    group_by?: string[];
    group_wait?: string;
    group_interval?: string;
    repeat_interval?: string;
    routes?: Route[];
  }
  const shorten = (r: Route): void => {
    if (r.group_wait !== undefined || r === config.route) r.group_wait = timers.group_wait;
    if (r.group_interval !== undefined || r === config.route) r.group_interval = timers.group_interval;
    if (r.repeat_interval !== undefined || r === config.route) r.repeat_interval = timers.repeat_interval;
    if (r.group_by !== undefined || r === config.route) r.group_by = ['...'];
    r.routes?.forEach(shorten);
  };
  shorten(config.route);
  config.receivers = config.receivers.map((r) => ({
    name: r.name,
    webhook_configs: [{ url: `${hookUrl}/${r.name}` }],
  }));
  delete config.templates;
  return toYaml(config);
}
