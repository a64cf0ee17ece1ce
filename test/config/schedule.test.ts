import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../../src/config/schedule.js';

const at = (iso: string) => Date.parse(iso);

describe('parseSchedule: NCRONTAB as the timer trigger reads it', () => {
  it.each([
    ['0 */5 * * * *', '2026-11-29T12:03:10Z', '2026-11-29T12:05:00.000Z'],
    ['0 0 */6 * * *', '2026-11-29T12:00:00Z', '2026-11-29T18:00:00.000Z'],
    ['0 30 9 * * 1-5', '2026-11-28T10:00:00Z', '2026-11-30T09:30:00.000Z'],
    ['*/10 * * * * *', '2026-11-29T12:00:01Z', '2026-11-29T12:00:10.000Z'],
  ])('%s after %s is %s (UTC)', (expression, from, next) => {
    const check = parseSchedule(expression);
    if (!check.ok) throw new Error(check.problem);
    expect(new Date(check.schedule.nextAfter(at(from)) ?? 0).toISOString()).toBe(next);
  });

  it.each([
    ['five fields (Unix cron)', '*/5 * * * *', /six fields/],
    ['seven fields', '0 0 */6 * * * 2026', /six fields/],
    ['an hour out of range', '0 0 25 * * *', /hour/],
    ['words', 'every five minutes', /not an NCRONTAB schedule/],
  ])('refuses %s, saying what to give', (_, expression, expected) => {
    const check = parseSchedule(expression);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problem).toMatch(expected);
  });
});
