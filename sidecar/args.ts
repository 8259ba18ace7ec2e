/**
 * The sidecar's flags (common/flags.ts, the contract the manifests write) as SidecarOptions.
 */
import { parseSidecarArgs, type SidecarFlags } from '../common/flags.ts';
import type { SidecarOptions } from './sidecar.ts';

export function sidecarOptions(f: SidecarFlags): SidecarOptions {
  const {
    prometheusUsername,
    prometheusPasswordFile,
    prometheusCaFile,
    prometheusCertFile,
    prometheusKeyFile,
    prometheusInsecureSkipVerify,
    ...rest
  } = f;
  const tls = {
    caFile: prometheusCaFile,
    certFile: prometheusCertFile,
    keyFile: prometheusKeyFile,
    insecureSkipVerify: prometheusInsecureSkipVerify === true ? true : undefined,
  };
  return {
    ...rest,
    once: f.once === true,
    prometheusAuth:
      prometheusUsername !== undefined && prometheusPasswordFile !== undefined
        ? { username: prometheusUsername, passwordFile: prometheusPasswordFile }
        : undefined,
    prometheusTls: Object.values(tls).some((v) => v !== undefined) ? tls : undefined,
  };
}

/** SidecarOptions from the args after `sidecar`; throws `--flag: problem` on bad input. */
export function parseSidecarCommand(argv: readonly string[]): SidecarOptions {
  return sidecarOptions(parseSidecarArgs(argv));
}
