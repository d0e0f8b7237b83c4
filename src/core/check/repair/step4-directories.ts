/** Step 4 of repair: a root directory; entries to live inodes of the right type; one name per directory; what is unreachable reconnected under /lost+found. */
import {ftypeCode, ftypeName} from '../../format/dirent.js'
import {ROOT_INO} from '../../format/inode.js'
import {newInode} from '../../fs/inode-table.js'
import {S_IFDIR} from '../../types.js'
import type {RepairState} from './state.js'

const LOST_FOUND = Buffer.from('lost+found')

export function fixDirectories(s: RepairState): void {
  const {v, act, opts, nodes, namedIn} = s
  // 4. directories: root, one name per directory, entries to live inodes of the right type
  s.nextIno = Math.max(v.sb.nextIno, ...[...nodes.keys()].map((i) => i + 1))
  const root = nodes.get(ROOT_INO)
  if (!root || root.type !== 'dir') {
    if (root)
      act({
        problem: 'ROOT_MISSING',
        ino: ROOT_INO,
        what: `inode 1 is a ${root.type}, not a directory: replaced by a new root (its data is lost)`,
      })
    else act({problem: 'ROOT_MISSING', ino: ROOT_INO, what: 'created a new root directory'})
    const rec = newInode(S_IFDIR | 0o755, opts.time, v.sb.generation)
    rec.parent = ROOT_INO
    nodes.set(ROOT_INO, {rec, type: 'dir', dirents: [], extents: [], xattrs: []})
  }
  for (const [dir, node] of nodes) {
    if (node.type !== 'dir') continue
    node.dirents = node.dirents.filter((d) => {
      const target = nodes.get(d.ino)
      if (!target) {
        act({
          problem: 'DIRENT_TO_MISSING',
          ino: dir,
          what: `removed entry '${d.name}' of directory ${dir} (inode ${d.ino} does not exist)`,
        })
        return false
      }
      if (ftypeName(d.ftype) !== target.type) {
        act({
          problem: 'DIRENT_TYPE',
          ino: dir,
          field: `'${d.name}'.type`,
          old: ftypeName(d.ftype) ?? d.ftype,
          new: target.type,
          what: `entry '${d.name}' of directory ${dir}: type set to ${target.type}`,
        })
        d.ftype = ftypeCode(target.type)
      }
      if (target.type === 'dir') {
        if (d.ino === ROOT_INO || namedIn.has(d.ino)) {
          act({
            problem: 'DIR_MULTIPLY_LINKED',
            ino: dir,
            what: `removed extra entry '${d.name}' of directory ${d.ino} from directory ${dir}`,
          })
          return false
        }
        namedIn.set(d.ino, dir)
      }
      return true
    })
  }
  // reachability; reconnect what is not reachable under /lost+found
  let lostFound: number | undefined
  const ensureLostFound = (): number => {
    if (lostFound !== undefined) return lostFound
    const rootNode = nodes.get(ROOT_INO)!
    const existing = rootNode.dirents.find((d) => d.name.equals(LOST_FOUND))
    if (existing && nodes.get(existing.ino)?.type === 'dir') return (lostFound = existing.ino)
    const ino = s.nextIno++
    const rec = newInode(S_IFDIR | 0o700, opts.time, v.sb.generation)
    rec.parent = ROOT_INO
    nodes.set(ino, {rec, type: 'dir', dirents: [], extents: [], xattrs: []})
    rootNode.dirents.push({
      ino,
      ftype: ftypeCode('dir'),
      name: existing ? Buffer.from(`lost+found.${ino}`) : LOST_FOUND,
    })
    namedIn.set(ino, ROOT_INO)
    act({problem: 'UNREACHABLE', ino, what: 'created /lost+found'})
    return (lostFound = ino)
  }
  const reachable = (): Set<number> => {
    const seen = new Set<number>([ROOT_INO])
    const stack = [ROOT_INO]
    while (stack.length) {
      const d = stack.pop()!
      for (const e of nodes.get(d)!.dirents) {
        if (seen.has(e.ino)) continue
        seen.add(e.ino)
        if (nodes.get(e.ino)!.type === 'dir') stack.push(e.ino)
      }
    }
    return seen
  }
  for (let round = 0; round < 3; round++) {
    const seen = reachable()
    const lost = [...nodes.keys()].filter((i) => !seen.has(i))
    if (!lost.length) break
    for (const ino of lost) {
      const node = nodes.get(ino)!
      if (node.type === 'dir') {
        const namer = namedIn.get(ino)
        // a directory named inside the unreachable part: cut that entry (it may close a cycle)
        if (namer !== undefined && !seen.has(namer)) {
          const p = nodes.get(namer)!
          p.dirents = p.dirents.filter((d) => d.ino !== ino)
          act({
            problem: 'DIR_CYCLE',
            ino,
            what: `removed the entry of directory ${ino} from unreachable directory ${namer}`,
          })
        } else if (namer !== undefined) continue
      } else {
        // a file named somewhere unreachable becomes reachable when that directory is reconnected
        const namedByLost = [...nodes.values()].some((n) => n.type === 'dir' && n.dirents.some((d) => d.ino === ino))
        if (namedByLost) continue
      }
      const lf = ensureLostFound()
      nodes.get(lf)!.dirents.push({ino, ftype: ftypeCode(node.type), name: Buffer.from(`#${ino}`)})
      if (node.type === 'dir') namedIn.set(ino, lf)
      act({problem: 'UNREACHABLE', ino, what: `reconnected inode ${ino} as /lost+found/#${ino}`})
    }
  }
}
