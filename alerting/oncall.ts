/**
 * Who is on call: pure function of a team's rotation, its overrides and an instant.
 *
 * Handovers happen at local wall time in the rotation's time zone (10:00 in Shanghai stays
 * 10:00 across DST changes elsewhere), so the arithmetic is done on local calendar dates, not
 * on fixed 24h/168h periods.
 */
import type { Team, TeamMember } from '../topology/routing.ts';

type RO<T> = T extends (infer U)[]
  ? readonly RO<U>[]
  : T extends object
    ? { readonly [K in keyof T]: RO<T[K]> }
    : T;
export type TeamLike = RO<Team>;
export type Member = RO<TeamMember>;

const DAY_MS = 86_400_000;

/** Local calendar fields of an instant in a time zone. */
export function localParts(
  ms: number,
  timeZone: string,
): { y: number; m: number; d: number; hh: number; mm: number } {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
  const parts = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return {
    y: Number(parts.year),
    m: Number(parts.month),
    d: Number(parts.day),
    hh: Number(parts.hour),
    mm: Number(parts.minute),
  };
}

/** UTC offset (ms) of a time zone at an instant. */
function offsetAt(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm);
  return asUtc - Math.floor(ms / 60_000) * 60_000;
}

/** The instant of a local wall time in a time zone (a time skipped by DST maps forward). */
export function zonedTimeToUtc(
  local: { y: number; m: number; d: number; hh: number; mm: number },
  timeZone: string,
): number {
  const guess = Date.UTC(local.y, local.m - 1, local.d, local.hh, local.mm);
  const first = guess - offsetAt(guess, timeZone);
  const second = guess - offsetAt(first, timeZone);
  return second;
}

/** `YYYY-MM-DD HH:MM` (or with a T) read in a time zone. */
export function parseLocalDateTime(s: string, timeZone: string): number {
  const [date, time] = s.split(/[T ]/) as [string, string];
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [hh, mm] = time.split(':').map(Number) as [number, number];
  return zonedTimeToUtc({ y, m, d, hh, mm }, timeZone);
}

/** Days between two calendar dates (b - a), independent of time zones. */
function dayDiff(a: { y: number; m: number; d: number }, b: { y: number; m: number; d: number }): number {
  return Math.round((Date.UTC(b.y, b.m - 1, b.d) - Date.UTC(a.y, a.m - 1, a.d)) / DAY_MS);
}

/**
 * The members on call at `nowMs`: the override covering now (all of them, if several
 * overlap), else the rotation's member for the current period. No rotation → nobody.
 */
export function resolveOnCall(team: TeamLike, nowMs: number): Member[] {
  const rot = team.rotation;
  if (!rot) return [];
  const byName = new Map(team.members.map((m) => [m.name, m]));

  const overriding = rot.overrides
    .filter(
      (o) =>
        parseLocalDateTime(o.start, rot.timeZone) <= nowMs && nowMs < parseLocalDateTime(o.end, rot.timeZone),
    )
    .map((o) => byName.get(o.member))
    .filter((m): m is Member => m !== undefined);
  if (overriding.length > 0) return [...new Set(overriding)];

  const order = (rot.members ?? team.members.map((m) => m.name))
    .map((n) => byName.get(n))
    .filter((m): m is Member => m !== undefined);
  if (order.length === 0) return [];
  const now = localParts(nowMs, rot.timeZone);
  const [hh, mm] = rot.handover.split(':').map(Number) as [number, number];
  const [sy, sm, sd] = rot.start.split('-').map(Number) as [number, number, number];
  // The local date of the latest handover day at or before now (today if the handover time passed).
  let days = dayDiff({ y: sy, m: sm, d: sd }, now);
  if (now.hh * 60 + now.mm < hh * 60 + mm) days -= 1;
  const period = rot.type === 'weekly' ? 7 : 1;
  const index = Math.floor(days / period);
  return [order[((index % order.length) + order.length) % order.length]!];
}

/** The next handover instant after `nowMs` (for the UI/logs; tests use it to cross a handover). */
export function nextHandover(team: TeamLike, nowMs: number): number | undefined {
  const rot = team.rotation;
  if (!rot) return undefined;
  const [hh, mm] = rot.handover.split(':').map(Number) as [number, number];
  const [sy, sm, sd] = rot.start.split('-').map(Number) as [number, number, number];
  const period = rot.type === 'weekly' ? 7 : 1;
  const now = localParts(nowMs, rot.timeZone);
  const days = dayDiff({ y: sy, m: sm, d: sd }, now);
  for (let k = Math.floor(days / period) - 1; ; k++) {
    const date = new Date(Date.UTC(sy, sm - 1, sd + k * period));
    const at = zonedTimeToUtc(
      { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate(), hh, mm },
      rot.timeZone,
    );
    if (at > nowMs) return at;
  }
}
