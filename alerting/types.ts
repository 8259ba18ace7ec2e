/**
 * Alertmanager 0.25 configuration, typed after its config.go (the subset fedstack renders).
 * Field names are Alertmanager's own (snake_case) so the object serializes as-is.
 */

export interface AlertmanagerConfig {
  readonly global?: GlobalConfig;
  readonly route: Route;
  readonly inhibit_rules?: readonly InhibitRule[];
  readonly receivers: readonly ReceiverConfig[];
  readonly templates?: readonly string[];
  readonly time_intervals?: readonly TimeInterval[];
}

export interface GlobalConfig {
  readonly resolve_timeout?: string;
  readonly smtp_from?: string;
  readonly smtp_smarthost?: string;
  readonly smtp_auth_username?: string;
  readonly smtp_auth_password_file?: string;
  readonly smtp_require_tls?: boolean;
}

export interface Route {
  readonly receiver?: string;
  readonly group_by?: readonly string[];
  readonly continue?: boolean;
  /** `label="value"`, `label=~"regex"` (Alertmanager ≥ 0.22 matchers). */
  readonly matchers?: readonly string[];
  readonly group_wait?: string;
  readonly group_interval?: string;
  readonly repeat_interval?: string;
  readonly mute_time_intervals?: readonly string[];
  readonly active_time_intervals?: readonly string[];
  readonly routes?: readonly Route[];
}

export interface InhibitRule {
  readonly source_matchers: readonly string[];
  readonly target_matchers: readonly string[];
  readonly equal?: readonly string[];
}

export interface TimeInterval {
  readonly name: string;
  readonly time_intervals: readonly TimeIntervalSpec[];
}

export interface TimeIntervalSpec {
  readonly times?: readonly { readonly start_time: string; readonly end_time: string }[];
  readonly weekdays?: readonly string[];
  readonly days_of_month?: readonly string[];
  readonly months?: readonly string[];
  readonly years?: readonly string[];
  readonly location?: string;
}

export interface HttpConfig {
  readonly authorization?: { readonly type?: string; readonly credentials_file?: string };
  readonly follow_redirects?: boolean;
}

export interface WebhookConfig {
  readonly url: string;
  readonly send_resolved?: boolean;
  readonly http_config?: HttpConfig;
  readonly max_alerts?: number;
}

export interface EmailConfig {
  readonly to: string;
  readonly send_resolved?: boolean;
  readonly from?: string;
  readonly smarthost?: string;
  readonly auth_username?: string;
  readonly auth_password_file?: string;
  readonly require_tls?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
  readonly html?: string;
  readonly text?: string;
}

export interface ReceiverConfig {
  readonly name: string;
  readonly email_configs?: readonly EmailConfig[];
  readonly webhook_configs?: readonly WebhookConfig[];
}
