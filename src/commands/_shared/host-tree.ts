/** A quick walk of a host directory tree, for `mkfs --size auto`. */
import {lstatSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

export interface TreeCensus {
  /** Inodes the image will need (every entry, hard links counted once, plus the root). */
  inodes: number
  /** Regular-file bytes, each file rounded up to whole blocks (hard links counted once). */
  blockBytes: number
  /** Bytes of names and symlink targets (they live in the metadata tree). */
  nameBytes: number
}

/** Walk `root` without following symlinks; unreadable parts are skipped (populate reports them). */
export function censusTree(root: string, blockSize: number): TreeCensus {
  const census: TreeCensus = {inodes: 1, blockBytes: 0, nameBytes: 0}
  const seen = new Set<string>()
  const stack = [root]
  while (stack.length > 0) {
    const dir = stack.pop() as string
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      continue
    }
    for (const name of names) {
      const path = join(dir, name)
      census.nameBytes += Buffer.byteLength(name)
      let st
      try {
        st = lstatSync(path, {bigint: false})
      } catch {
        continue
      }
      if (st.nlink > 1 && !st.isDirectory()) {
        const key = `${st.dev}:${st.ino}`
        if (seen.has(key)) continue
        seen.add(key)
      }
      census.inodes++
      if (st.isDirectory()) stack.push(path)
      else if (st.isFile()) census.blockBytes += Math.ceil(st.size / blockSize) * blockSize
      else if (st.isSymbolicLink()) census.nameBytes += st.size
    }
  }
  return census
}
