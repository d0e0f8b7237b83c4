/** Timestamps (local time zone, honouring TZ). */
import type {Timespec} from '../../core/index.js'

const pad = (n: number, w = 2): string => String(n).padStart(w, '0')

function localParts(ts: Timespec): {date: string; time: string; zone: string} | undefined {
  const d = new Date(ts.sec * 1000)
  if (Number.isNaN(d.getTime())) return undefined
  const offset = -d.getTimezoneOffset()
  const sign = offset < 0 ? '-' : '+'
  const abs = Math.abs(offset)
  return {
    date: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    time: `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
    zone: `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`,
  }
}

/** stat(1) style: '2024-05-01 13:45:07.123456789 +0200'. */
export function formatFullTime(ts: Timespec): string {
  const parts = localParts(ts)
  if (!parts) return rawTime(ts)
  return `${parts.date} ${parts.time}.${pad(ts.nsec, 9)} ${parts.zone}`
}

/** ls -l style (like --time-style=long-iso): '2024-05-01 13:45'. */
export function formatShortTime(ts: Timespec): string {
  const parts = localParts(ts)
  return parts ? `${parts.date} ${parts.time.slice(0, 5)}` : rawTime(ts)
}

/** Times JavaScript dates cannot hold (beyond year 275760): seconds since the epoch. */
function rawTime(ts: Timespec): string {
  return `@${ts.sec}.${pad(ts.nsec, 9)}`
}
