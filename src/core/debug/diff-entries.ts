/**
 * Comparing two descriptions of a file tree (describe.ts): what `razorfs
 * diff` reports, field by field, with hard links compared by structure (which
 * names share an inode), not by inode number.
 */
import type {ManifestEntry, ManifestXattr} from '../host/manifest.js'
import {escapeBytes} from '../host/manifest.js'
import type {Timespec} from '../types.js'

export type DiffField =
  | 'type'
  | 'mode'
  | 'uid'
  | 'gid'
  | 'mtime'
  | 'atime'
  | 'ctime'
  | 'size'
  | 'content'
  | 'target'
  | 'dev'
  | 'xattrs'
  | 'links'
  | 'flags'

export interface Difference {
  path: string
  /** 'missing' (only in B), 'extra' (only in A), or the field that differs. */
  kind: 'only-in-a' | 'only-in-b' | DiffField
  a?: string
  b?: string
}

export interface DiffOptions {
  /** Fields not compared. */
  ignore?: Set<DiffField | 'times' | 'owner'>
  /** Compare mtime (default false). */
  times?: boolean
  /** In A, directories that B only implies (tar): their attributes are not compared, their presence is fine. */
  impliedInB?: Set<string>
}

const show = (e: ManifestEntry | undefined, k: keyof ManifestEntry): string | undefined => {
  if (!e) return undefined
  const v = e[k]
  if (v === undefined) return undefined
  if (Buffer.isBuffer(v)) return escapeBytes(v)
  if (k === 'mode') return (v as number).toString(8).padStart(4, '0')
  if (k === 'mtime' || k === 'atime' || k === 'ctime') {
    const t = v as Timespec
    return `${t.sec}.${String(t.nsec).padStart(9, '0')}`
  }
  if (k === 'dev') return `${(v as {major: number}).major},${(v as {minor: number}).minor}`
  return String(v)
}

function xattrText(x: ManifestXattr[] | undefined): string {
  return (x ?? []).map((a) => `${a.name}=${escapeBytes(a.value)}`).join(' ')
}

/**
 * Hard-link structure of a description: for each path, the entry holding the
 * attributes (following hardlink entries) and the group's representative
 * (its first path in depth-first byte order), so that two descriptions that
 * chose different first names still compare equal.
 */
function linkStructure(m: Map<string, ManifestEntry>): {holder: Map<string, string>; rep: Map<string, string>} {
  const holder = new Map<string, string>()
  const groups = new Map<string, string[]>()
  for (const [k, e] of m) {
    let h = k
    let cur = e
    for (let hops = 0; cur?.type === 'hardlink' && hops < 64; hops++) {
      h = cur.target!.toString('latin1')
      cur = m.get(h)!
    }
    holder.set(k, h)
    if (e.type === 'hardlink' || groups.has(h)) {
      const g = groups.get(h) ?? [h]
      if (k !== h) g.push(k)
      groups.set(h, g)
    }
  }
  const rep = new Map<string, string>()
  const sortKey = (k: string) => k.replace(/\//g, '\0')
  for (const g of groups.values()) {
    const first = g.reduce((x, y) => (sortKey(y) < sortKey(x) ? y : x))
    for (const k of g) rep.set(k, first)
  }
  return {holder, rep}
}

/** Differences between two descriptions (A: the image, B: what it is compared with). */
export function diffEntries(a: ManifestEntry[], b: ManifestEntry[], opts: DiffOptions = {}): Difference[] {
  const ign = opts.ignore ?? new Set()
  const skip = (f: DiffField) =>
    ign.has(f) ||
    ((f === 'uid' || f === 'gid') && ign.has('owner')) ||
    ((f === 'mtime' || f === 'atime' || f === 'ctime') && ign.has('times'))
  const compareTimes = opts.times ?? false
  const index = (list: ManifestEntry[]) => new Map(list.map((e) => [e.path.toString('latin1'), e]))
  const A = index(a)
  const B = index(b)
  const la = linkStructure(A)
  const lb = linkStructure(B)
  const diffs: Difference[] = []
  const shown = (k: string) => escapeBytes(Buffer.from(k, 'latin1'))
  const keys = [...new Set([...A.keys(), ...B.keys()])]
  for (const k of keys) {
    const ea = A.get(k)
    const eb = B.get(k)
    const p = shown(k)
    if (!eb) {
      if (opts.impliedInB?.has(k) && ea?.type === 'dir') continue
      diffs.push({path: p, kind: 'only-in-a', a: ea!.type})
      continue
    }
    if (!ea) {
      diffs.push({path: p, kind: 'only-in-b', b: eb.type})
      continue
    }
    const ra = A.get(la.holder.get(k)!)
    const rb = B.get(lb.holder.get(k)!)
    if (!ra || !rb) continue
    if (ra.type !== rb.type) {
      diffs.push({path: p, kind: 'type', a: ra.type, b: rb.type})
      continue
    }
    const repA = la.rep.get(k) ?? k
    const repB = lb.rep.get(k) ?? k
    if (!skip('links') && repA !== repB) {
      diffs.push({
        path: p,
        kind: 'links',
        a: repA === k ? 'not linked to another path' : `same inode as ${shown(repA)}`,
        b: repB === k ? 'not linked to another path' : `same inode as ${shown(repB)}`,
      })
    }
    // attributes once per inode: at A's representative
    if (repA !== k) continue
    const implied = opts.impliedInB?.has(k)
    const fields: Array<[DiffField, keyof ManifestEntry]> = [
      ['mode', 'mode'],
      ['uid', 'uid'],
      ['gid', 'gid'],
      ['size', 'size'],
      ['content', 'sha256'],
      ['target', 'target'],
      ['dev', 'dev'],
    ]
    if (compareTimes) fields.push(['mtime', 'mtime'])
    for (const [f, key] of fields) {
      if (skip(f) || implied) continue
      const va = show(ra, key)
      const vb = show(rb, key)
      if (va === undefined || vb === undefined) continue
      if (va !== vb) diffs.push({path: p, kind: f, a: va, b: vb})
    }
    if (!skip('xattrs') && !implied) {
      const xa = xattrText(ra.xattrs)
      const xb = xattrText(rb.xattrs)
      if (xa !== xb) diffs.push({path: p, kind: 'xattrs', a: xa || '(none)', b: xb || '(none)'})
    }
  }
  return diffs
}
