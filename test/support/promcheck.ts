/**
 * Runs the real checkers on rendered files: promtool check config / check rules / test rules,
 * and amtool check-config.
 *
 * Debian's Prometheus 2.42 is built without kubernetes_sd, so its promtool rejects the
 * kubernetes profile's edge configs at parse time. For those, two real checks stand in:
 * vmagent (VictoriaMetrics, strict parsing) validates every scrape config including the
 * kubernetes_sd_configs blocks, and promtool checks the rest of the file with each
 * kubernetes_sd_configs block swapped for an equivalent file_sd_configs (relabeling, params,
 * limits and auth are all still promtool's to check).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';

const exec = promisify(execFile);

export interface CheckResult {
  ok: boolean;
  output: string;
}

async function runTool(cmd: string, args: string[], cwd?: string): Promise<CheckResult> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { cwd, timeout: 60_000 });
    return { ok: true, output: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message };
  }
}

function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'fedstack-check-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** `promtool check config` on a prometheus.yml (its rule files written beside it). */
export function checkPrometheusConfig(
  config: string,
  files: Record<string, string> = {},
): Promise<CheckResult> {
  return withTempDir(async (dir) => {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const doc = YAML.parse(config) as { scrape_configs?: Record<string, unknown>[] };
    const hasKubernetesSd = (doc.scrape_configs ?? []).some((j) => 'kubernetes_sd_configs' in j);
    // promtool, too, insists that credential files exist: stand-ins for the mounted secrets.
    if (!hasKubernetesSd) {
      writeFileSync(join(dir, 'prometheus.yml'), YAML.stringify(withStandInFiles(doc, dir)));
      return runTool('promtool', ['check', 'config', 'prometheus.yml'], dir);
    }
    // vmagent: only scrape_configs and global.scrape_* are its business.
    const forVmagent = {
      global: { scrape_interval: (doc as { global?: { scrape_interval?: string } }).global?.scrape_interval },
      scrape_configs: doc.scrape_configs,
    };
    // vmagent opens every *_file at parse time: point them at stand-ins in the temp dir.
    writeFileSync(join(dir, 'vmagent.yml'), YAML.stringify(withStandInFiles(forVmagent, dir)));
    const vm = await runTool(
      'vmagent',
      ['-promscrape.config=vmagent.yml', '-promscrape.config.strictParse', '-dryRun'],
      dir,
    );
    if (!vm.ok) return { ok: false, output: `vmagent: ${vm.output}` };
    const swapped = {
      ...doc,
      scrape_configs: (doc.scrape_configs ?? []).map((j) => {
        if (!('kubernetes_sd_configs' in j)) return j;
        const { kubernetes_sd_configs: _k8s, ...rest } = j;
        return { ...rest, file_sd_configs: [{ files: ['kubernetes-sd-stand-in.json'] }] };
      }),
    };
    writeFileSync(join(dir, 'kubernetes-sd-stand-in.json'), '[]');
    writeFileSync(join(dir, 'prometheus.yml'), YAML.stringify(withStandInFiles(swapped, dir)));
    const pt = await runTool('promtool', ['check', 'config', 'prometheus.yml'], dir);
    return { ok: pt.ok, output: `vmagent: ok\npromtool: ${pt.output}` };
  });
}

/** A copy of `value` with every `*_file` path replaced by an existing file (a real CA where one is read). */
function withStandInFiles(value: unknown, dir: string): unknown {
  if (Array.isArray(value)) return value.map((v) => withStandInFiles(v, dir));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      if (!k.endsWith('_file') || typeof v !== 'string') return [k, withStandInFiles(v, dir)];
      const standIn = join(dir, `stand-in-${k}`);
      writeFileSync(
        standIn,
        k === 'ca_file' || k === 'cert_file' ? STAND_IN_CERT : k === 'key_file' ? STAND_IN_KEY : 'stand-in\n',
      );
      return [k, standIn];
    }),
  );
}

export function checkRules(rules: string): Promise<CheckResult> {
  return withTempDir(async (dir) => {
    writeFileSync(join(dir, 'rules.yml'), rules);
    return runTool('promtool', ['check', 'rules', 'rules.yml'], dir);
  });
}

/** `promtool test rules` on a test file; paths inside it are relative to its folder. */
export function testRules(testFile: string, cwd: string): Promise<CheckResult> {
  return runTool('promtool', ['test', 'rules', testFile], cwd);
}

export function checkAlertmanagerConfig(
  config: string,
  files: Record<string, string> = {},
): Promise<CheckResult> {
  return withTempDir(async (dir) => {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    writeFileSync(join(dir, 'alertmanager.yml'), config);
    return runTool('amtool', ['check-config', 'alertmanager.yml'], dir);
  });
}

/** A throwaway self-signed certificate (never used to protect anything): vmagent parses CA files. */
const STAND_IN_CERT = `-----BEGIN CERTIFICATE-----
MIIBkDCCATWgAwIBAgIUfQAhgfZqDpGaSAETaMAiwsvXKBcwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRZmVkc3RhY2stc3RhbmQtaW4wIBcNMjYxMTIzMDkzOTQzWhgP
MjEyNjEwMzAwOTM5NDNaMBwxGjAYBgNVBAMMEWZlZHN0YWNrLXN0YW5kLWluMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERM9s0osAezftJqHiPlJzY8q9NHDaknxP
Y8aJcHQavOCpjdfrziHDRMfwTnIf8boby/pzrygtDXo2yfN07lnwNqNTMFEwHQYD
VR0OBBYEFPlKCyN8oEPyfPpC/GRUGoFRNdCPMB8GA1UdIwQYMBaAFPlKCyN8oEPy
fPpC/GRUGoFRNdCPMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIh
AJKPNxxJQ3DWtzAeRwnOqugcvQ4Nm7Jz6UqYPxLiOmRNAiEA6MIvomlHdc7dbc5M
+IShUg9RiXQGHX3vZkCpDCsLflY=
-----END CERTIFICATE-----
`;
const STAND_IN_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5Rh93iAzNs4x0p8t
8wtK8xwqiLv4WI8ZYcRpxz8S/M2hRANCAAREz2zSiwB7N+0moeI+UnNjyr00cNqS
fE9jxolwdBq84KmN1+vOIcNEx/BOch/xuhvL+nOvKC0NejbJ83TuWfA2
-----END PRIVATE KEY-----
`;
