/**
 * Typed subset of Prometheus 2.42's configuration and rule-file formats, field names as upstream
 * (snake_case), so a rendered object reads like the YAML it becomes.
 */

export interface PrometheusConfig {
  global: {
    scrape_interval: string;
    scrape_timeout?: string;
    evaluation_interval: string;
    external_labels?: Record<string, string>;
  };
  rule_files?: string[];
  alerting?: {
    alert_relabel_configs?: RelabelConfig[];
    alertmanagers: AlertmanagerEndpoint[];
  };
  scrape_configs: ScrapeConfig[];
  remote_write?: RemoteWriteConfig[];
}

/** One remote_write target (2.42): its queue, its relabelling, its client settings. */
export interface RemoteWriteConfig {
  url: string;
  name?: string;
  remote_timeout?: string;
  write_relabel_configs?: RelabelConfig[];
  basic_auth?: BasicAuth;
  tls_config?: TlsConfig;
  queue_config?: {
    capacity?: number;
    min_shards?: number;
    max_shards?: number;
    max_samples_per_send?: number;
    batch_send_deadline?: string;
    min_backoff?: string;
    max_backoff?: string;
    retry_on_http_429?: boolean;
  };
  metadata_config?: { send: boolean };
}

/**
 * A scrape config file as vmagent (and the single-node victoria-metrics) reads it with
 * -promscrape.config: Prometheus' `global` and `scrape_configs`, nothing else.
 */
export interface ScrapeFile {
  global: { scrape_interval: string; scrape_timeout?: string };
  scrape_configs: ScrapeConfig[];
}

export interface AlertmanagerEndpoint {
  scheme?: 'http' | 'https';
  path_prefix?: string;
  timeout?: string;
  api_version?: 'v2';
  static_configs?: StaticConfig[];
}

export interface StaticConfig {
  readonly targets: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export interface TlsConfig {
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
  server_name?: string;
  insecure_skip_verify?: boolean;
}

export interface BasicAuth {
  username: string;
  password_file: string;
}

export interface KubernetesSdConfig {
  role: 'node' | 'pod' | 'service' | 'endpoints' | 'endpointslice' | 'ingress';
  namespaces?: { names: string[] };
  selectors?: { role: string; label?: string; field?: string }[];
}

export interface HttpSdConfig {
  url: string;
  refresh_interval?: string;
  authorization?: { type?: string; credentials_file?: string };
}

export interface FileSdConfig {
  files: string[];
  refresh_interval?: string;
}

export interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  modulus?: number;
  action?:
    | 'replace'
    | 'keep'
    | 'drop'
    | 'labelmap'
    | 'labeldrop'
    | 'labelkeep'
    | 'hashmod'
    | 'keepequal'
    | 'dropequal'
    | 'lowercase'
    | 'uppercase';
}

export interface ScrapeConfig {
  job_name: string;
  scrape_interval?: string;
  scrape_timeout?: string;
  metrics_path?: string;
  scheme?: 'http' | 'https';
  honor_labels?: boolean;
  honor_timestamps?: boolean;
  params?: Record<string, string[]>;
  sample_limit?: number;
  label_limit?: number;
  body_size_limit?: string;
  basic_auth?: BasicAuth;
  authorization?: { type?: string; credentials_file?: string };
  tls_config?: TlsConfig;
  static_configs?: StaticConfig[];
  file_sd_configs?: FileSdConfig[];
  http_sd_configs?: HttpSdConfig[];
  kubernetes_sd_configs?: KubernetesSdConfig[];
  dns_sd_configs?: DnsSdConfig[];
  relabel_configs?: RelabelConfig[];
  metric_relabel_configs?: RelabelConfig[];
}

/** DNS service discovery: every A record of each name, at `port`. */
export interface DnsSdConfig {
  names: string[];
  type?: 'A' | 'AAAA' | 'SRV';
  port?: number;
  refresh_interval?: string;
}

export interface RuleFile {
  groups: RuleGroup[];
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: (RecordingRuleSpec | AlertingRuleSpec)[];
}

export interface RecordingRuleSpec {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRuleSpec {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** What a tier generator returns for one Prometheus: its config and its one rule file. */
export interface PrometheusBundle {
  readonly config: PrometheusConfig;
  readonly rules: RuleFile;
}
