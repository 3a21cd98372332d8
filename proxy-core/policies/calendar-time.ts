/**
 * Calendar boundaries in an IANA time zone, with nothing but `Intl`: the start of the next
 * day, ISO week (Monday) or month after a wall-clock instant. Computed only when a quota rolls
 * over, never per request.
 */

import type { Period } from './schema.ts';

const formatters = new Map<string, Intl.DateTimeFormat>();

interface LocalDate {
  year: number;
  month: number;
  day: number;
  weekday: number;
}

/** Wall-clock epoch ms of the first calendar boundary strictly after `epochMs`. */
export function nextCalendarBoundary(epochMs: number, per: Period, timeZone: string): number {
  const local = localDate(epochMs, timeZone);
  let { year, month, day } = local;

  if (per === 'month') {
    month += 1;
    day = 1;
  } else if (per === 'week') {
    day += 7 - ((local.weekday + 6) % 7);
  } else {
    day += 1;
  }
  // Date.UTC normalises day 32 or month 13 into the following month or year.
  const normal = new Date(Date.UTC(year, month - 1, day));
  year = normal.getUTCFullYear();
  month = normal.getUTCMonth() + 1;
  day = normal.getUTCDate();

  return localMidnightToEpoch(year, month, day, timeZone);
}

/** Wall-clock epoch ms of the start of the calendar period containing `epochMs`. */
export function calendarPeriodStart(epochMs: number, per: Period, timeZone: string): number {
  const local = localDate(epochMs, timeZone);
  let day = local.day;
  if (per === 'month') day = 1;
  if (per === 'week') day -= (local.weekday + 6) % 7;
  const normal = new Date(Date.UTC(local.year, local.month - 1, day));
  return localMidnightToEpoch(
    normal.getUTCFullYear(),
    normal.getUTCMonth() + 1,
    normal.getUTCDate(),
    timeZone,
  );
}

function localDate(epochMs: number, timeZone: string): LocalDate {
  const parts = formatter(timeZone).formatToParts(epochMs);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    weekday: weekdays.indexOf(get('weekday')),
  };
}

/**
 * The instant local midnight of a date happens in a zone. Where DST skips midnight, this lands
 * on the first instant of that local day that exists.
 */
function localMidnightToEpoch(year: number, month: number, day: number, timeZone: string): number {
  const asUtc = Date.UTC(year, month - 1, day);
  let guess = asUtc - zoneOffset(asUtc, timeZone);
  guess = asUtc - zoneOffset(guess, timeZone);
  return guess;
}

/** Local time minus UTC at an instant, in ms. */
function zoneOffset(epochMs: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(epochMs);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const hour = get('hour') % 24;
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    hour,
    get('minute'),
    get('second'),
  );
  return local - (epochMs - (epochMs % 1000));
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, format);
  }
  return format;
}
