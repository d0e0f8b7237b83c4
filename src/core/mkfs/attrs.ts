/**
 * What mkfs does to entries' attributes and which entries it leaves out:
 * owner rewrites (--all-root, --uid-map, --gid-map), timestamp clamping for
 * reproducible builds (SOURCE_DATE_EPOCH, --timestamp) and --exclude
 * patterns. Shared by every source (host tree, tar, manifest).
 */
import {fail} from '../errors.js'
import type {FileType, InodeAttrs, Timespec} from '../types.js'

/** One range of an id map: ids from..from+count−1 become to..to+count−1. */
export interface IdRange {
  from: number
  to: number
  count: number
}

export interface AttrPolicyOptions {
  /** Every owner becomes 0:0 (applied before the maps). */
  allRoot?: boolean
  uidMap?: IdRange[]
  gidMap?: IdRange[]
  /**
   * Reproducible build time (SOURCE_DATE_EPOCH): mtimes newer than it are
   * clamped to it (older ones kept); atime, ctime and birth time, which
   * record what the build host did rather than the input, become the
   * (clamped) mtime.
   */
  timestamp?: Timespec
}

const MAX_ID = 0xffffffff

/**
 * Parse an id map: comma-separated `FROM:TO` (one id) or `FROM:TO:COUNT`
 * (a range, as in /proc/PID/uid_map, but FROM is the id in the source).
 */
export function parseIdMap(text: string, what = 'id map'): IdRange[] {
  const out: IdRange[] = []
  for (const part of text.split(',')) {
    const m = /^\s*(\d+):(\d+)(?::(\d+))?\s*$/.exec(part)
    if (!m) throw fail('EINVAL', `${what}: '${part}' is not FROM:TO or FROM:TO:COUNT`)
    const r = {from: Number(m[1]), to: Number(m[2]), count: m[3] === undefined ? 1 : Number(m[3])}
    if (r.count < 1 || r.from + r.count - 1 > MAX_ID || r.to + r.count - 1 > MAX_ID)
      throw fail('EINVAL', `${what}: '${part}' is out of range (ids are 0 to ${MAX_ID})`)
    out.push(r)
  }
  return out
}

export function mapId(id: number, map: IdRange[] | undefined): number {
  if (!map) return id
  for (const r of map) if (id >= r.from && id < r.from + r.count) return r.to + (id - r.from)
  return id
}

export function compareTime(a: Timespec, b: Timespec): number {
  return a.sec !== b.sec ? a.sec - b.sec : a.nsec - b.nsec
}

export class AttrPolicy {
  constructor(readonly opts: AttrPolicyOptions = {}) {}

  get reproducible(): boolean {
    return this.opts.timestamp !== undefined
  }

  /** Owners as the maps say. */
  owner(uid: number, gid: number): {uid: number; gid: number} {
    if (this.opts.allRoot) {
      uid = 0
      gid = 0
    }
    return {uid: mapId(uid, this.opts.uidMap), gid: mapId(gid, this.opts.gidMap)}
  }

  /** A time from the input, clamped to the build timestamp. */
  clamp(t: Timespec): Timespec {
    const T = this.opts.timestamp
    return T && compareTime(t, T) > 0 ? {...T} : t
  }

  /** Attributes of a source entry (host tree, tar): owners mapped, times clamped. */
  source(a: InodeAttrs): InodeAttrs {
    const out: InodeAttrs = {...a}
    if (a.uid !== undefined || a.gid !== undefined) {
      const o = this.owner(a.uid ?? 0, a.gid ?? 0)
      out.uid = o.uid
      out.gid = o.gid
    }
    return this.times(out)
  }

  /** Times only (manifest entries: their owners are final). */
  times(a: InodeAttrs): InodeAttrs {
    if (!this.reproducible) return a
    const mtime = a.mtime ? this.clamp(a.mtime) : {...this.opts.timestamp!}
    return {...a, mtime, atime: mtime, ctime: mtime, crtime: mtime}
  }

  /** Attributes for something the build makes up (a missing parent directory): root's, at the build time. */
  implicit(mode: number, now: Timespec): InodeAttrs {
    const t = this.opts.timestamp ?? now
    return {mode, uid: 0, gid: 0, atime: t, mtime: t, ctime: t, crtime: t}
  }
}

// ---------------------------------------------------------------------------
// --exclude patterns

/**
 * A compiled --exclude pattern, matched against an entry's path relative to
 * the source root ('/'-separated, no leading '/'):
 *  - `*` matches within one path component, `?` one byte, `[...]` a class
 *    (`[!...]` negated), `**` any number of components, `\` quotes;
 *  - a pattern with no '/' (other than a trailing one) matches the last
 *    component at any depth (`*.o`, `.git`);
 *  - a leading '/' anchors it at the root (`/var/cache`), as does any '/'
 *    inside it (`usr/share/doc`);
 *  - a trailing '/' matches directories only;
 *  - an excluded directory takes everything below it along.
 */
export class ExcludePattern {
  private readonly re: RegExp
  private readonly dirOnly: boolean
  constructor(readonly source: string) {
    let p = source
    if (p === '' || p === '/') throw fail('EINVAL', `--exclude '${source}' matches nothing useful`)
    this.dirOnly = p.endsWith('/')
    if (this.dirOnly) p = p.replace(/\/+$/, '')
    const anchored = p.startsWith('/') || p.includes('/')
    p = p.replace(/^\/+/, '')
    this.re = new RegExp(`^${anchored ? '' : '(?:.*/)?'}${globToRegex(p)}$`, 's')
  }

  matches(rel: Buffer, type: FileType): boolean {
    if (this.dirOnly && type !== 'dir') return false
    return this.re.test(rel.toString('latin1'))
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** A glob over latin1-decoded path bytes (so any byte matches as itself). */
function globToRegex(glob: string): string {
  const bytes = Buffer.from(glob, 'utf8').toString('latin1')
  let out = ''
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!
    if (c === '\\' && i + 1 < bytes.length) out += escapeRe(bytes[++i]!)
    else if (c === '*' && bytes[i + 1] === '*') {
      i++
      if (bytes[i + 1] === '/') {
        i++
        out += '(?:.*/)?'
      } else out += '.*'
    } else if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else if (c === '[') {
      const end = bytes.indexOf(']', i + 2)
      if (end < 0) out += '\\['
      else {
        let cls = bytes.slice(i + 1, end)
        const neg = cls.startsWith('!') || cls.startsWith('^')
        if (neg) cls = cls.slice(1)
        out += `[${neg ? '^/' : ''}${cls.replace(/\\/g, '\\\\').replace(/\]/g, '\\]')}]`
        i = end
      }
    } else out += escapeRe(c)
  }
  return out
}

/** An exclude predicate from patterns (undefined when there are none). */
export function excluder(patterns: string[] | undefined): ((rel: Buffer, type: FileType) => boolean) | undefined {
  if (!patterns?.length) return undefined
  const compiled = patterns.map((p) => new ExcludePattern(p))
  return (rel, type) => compiled.some((p) => p.matches(rel, type))
}
