/**
 * One writer per image: a read-write open takes `IMAGE.lock` (created
 * exclusively, holding who took it). A second writer is refused with the
 * holder's name; a lock left by a process that no longer exists on this host
 * is taken over.
 */
import fs from 'node:fs'
import os from 'node:os'
import {fail} from '../errors.js'

export interface LockHolder {
  pid: number
  host: string
  command: string
  since: string
}

export function lockPath(image: string): string {
  return `${image}.lock`
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  // a zombie (killed, not yet reaped by its parent, which for a detached
  // mount process is init) holds nothing any more
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(path, 'utf8')) as LockHolder
  } catch {
    return undefined
  }
}

/** Take the writer lock of an image; returns the function that releases it. */
export function acquireWriterLock(image: string): () => void {
  const path = lockPath(image)
  const me: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    command: process.argv.slice(1).join(' ').slice(0, 200),
    since: new Date().toISOString(),
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(path, JSON.stringify(me) + '\n', {flag: 'wx'})
      let released = false
      return () => {
        if (released) return
        released = true
        const h = readHolder(path)
        if (h && h.pid === me.pid && h.host === me.host) fs.rmSync(path, {force: true})
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const h = readHolder(path)
    if (h && h.host === me.host && h.pid !== me.pid && !alive(h.pid)) {
      // stale: move it aside atomically, so of two takers only one wins
      const aside = `${path}.stale.${process.pid}`
      try {
        fs.renameSync(path, aside)
        const again = readHolder(aside)
        if (again && again.pid === h.pid) fs.rmSync(aside, {force: true})
        else fs.renameSync(aside, path)
      } catch {
        // someone else took it over first; try again
      }
      continue
    }
    if (!h) {
      // being written right now, or unreadable
      continue
    }
    throw fail(
      'EBUSY',
      `${image} is in use by pid ${h.pid} on ${h.host} (${h.command}) since ${h.since}; if that process is gone, remove ${path}`,
      {path: image},
    )
  }
  throw fail('EBUSY', `${image}: could not take the writer lock ${path}`, {path: image})
}
