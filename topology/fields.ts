/**
 * Leaf fields of the topology schema that more than one section uses (schema.ts, routing.ts):
 * durations and bounded whole numbers. Each checks the whole range, so a value Prometheus or
 * Alertmanager would refuse (or silently misread) is an error here, with the range in it.
 */
import { z } from 'zod';
import { parseDuration } from '../common/duration.ts';
import { describeValue } from './errors.ts';

/** Prometheus duration: one or more number+unit pairs, largest unit first (2.42's model.ParseDuration). */
export const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * model.Duration is an int64 of nanoseconds: Prometheus and Alertmanager refuse anything longer
 * ("duration out of range"), about 292 years of 365 days.
 */
export const MAX_DURATION_MS = Math.floor((2 ** 63 - 1) / 1e6);

export const durationSchema = z.string().superRefine((s, ctx) => {
  if (s === '' || s === '0' || !DURATION_RE.test(s)) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid duration ${JSON.stringify(s)} (use a Prometheus duration such as 30s, 5m, 1h)`,
    });
  } else if (parseDuration(s) > MAX_DURATION_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `duration ${JSON.stringify(s)} is out of range (at most 292y, what Prometheus can hold)`,
    });
  }
});

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/**
 * A whole number within `range`. YAML reads `1e309` or `.inf` as Infinity and `1.5` as a float;
 * each gets the same message, which says what is allowed instead of what type it saw.
 */
export function intSchema(range: IntRange) {
  return z.custom<number>(
    (v) => typeof v === 'number' && Number.isInteger(v) && v >= range.min && v <= range.max,
    {
      error: (iss) =>
        `must be a finite integer from ${range.min} to ${range.max}, got ${describeValue(iss.input)}`,
    },
  );
}

/** host:port, host being a DNS name, an IPv4 address or a bracketed IPv6 address. */
export const HOST_PORT_RE = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?):(\d{1,5})$/;
export const hostPortSchema = z.string().refine(
  (s) => {
    const m = HOST_PORT_RE.exec(s);
    return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
  },
  { error: (iss) => `invalid endpoint ${JSON.stringify(iss.input)} (want host:port, e.g. 10.0.0.1:9090)` },
);
