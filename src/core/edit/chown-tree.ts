/**
 * chown [-R] inside an image: new owner and/or group for an inode and,
 * recursively, everything below a directory (names in byte order, depth
 * first from a stack; links inside are changed themselves, never followed).
 * As Linux does, a new owner of anything but a directory clears its
 * set-user-ID bit, and its set-group-ID bit when it is group-executable.
 */
import type {Image} from '../image/image.js'
import type {FileType} from '../types.js'

export interface OwnerIds {
  /** undefined: unchanged. */
  uid?: number
  gid?: number
}

export interface ChownEntry {
  ino: number
  /** `opts.path`, then '/NAME' for each level below it. */
  path: string
  type: FileType
  oldUid: number
  oldGid: number
  uid: number
  gid: number
}

export interface ChownTreeOptions {
  recursive?: boolean
  /** How `ino` is named in `path` (default ''). */
  path?: string
  /** Called for each inode visited, after its change, in the order of visits. */
  onEntry?: (e: ChownEntry) => void
}

export interface ChownTreeResult {
  visited: number
  /** Inodes whose uid or gid changed. */
  changed: number
}

export function chownTree(img: Image, ino: number, ids: OwnerIds, opts: ChownTreeOptions = {}): ChownTreeResult {
  const result: ChownTreeResult = {visited: 0, changed: 0}
  const change = (i: number, path: string) => {
    const st = img.stat(i)
    if (ids.uid === undefined && ids.gid === undefined) return
    const uid = ids.uid ?? st.uid
    const gid = ids.gid ?? st.gid
    let mode = st.mode & 0o7777
    if (st.type !== 'dir') {
      mode &= ~0o4000
      if (mode & 0o010) mode &= ~0o2000
    }
    img.setattr(i, {uid, gid, ...(mode !== (st.mode & 0o7777) ? {mode} : {})})
    result.visited++
    if (uid !== st.uid || gid !== st.gid) result.changed++
    opts.onEntry?.({ino: i, path, type: st.type, oldUid: st.uid, oldGid: st.gid, uid, gid})
  }
  change(ino, opts.path ?? '')
  if (!opts.recursive || img.stat(ino).type !== 'dir') return result
  const stack: Array<{ino: number; path: string}> = [{ino, path: (opts.path ?? '').replace(/\/+$/, '')}]
  while (stack.length) {
    const d = stack.pop()!
    for (const e of img.readdir(d.ino).sort((a, b) => Buffer.compare(a.name, b.name))) {
      const p = `${d.path}/${e.name.toString()}`
      change(e.ino, p)
      if (e.type === 'dir') stack.push({ino: e.ino, path: p})
    }
  }
  return result
}
