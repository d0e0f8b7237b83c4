/** Host-side checks before mkfs: the --root directory and the image file. */
import {readdirSync, realpathSync, statSync} from 'node:fs'
import {basename, dirname, join, resolve, sep} from 'node:path'
import {CommandError, HostError, UsageError} from './errors.js'
import {EXIT} from './exit-codes.js'

/** --root must be a directory, and must not contain the image (it would be copied into itself). */
export function checkRootDir(dir: string, image: string): void {
  if (!statSync(dir).isDirectory()) throw new HostError(dir, 'ENOTDIR', 'not a directory; --root needs a directory')
  readdirSync(dir) // unreadable: a host error naming DIR, before any work is done
  const root = realpathSync(dir)
  const target = join(realpathSync(dirname(resolve(image))), basename(image))
  if (target.startsWith(root + sep) || target === root) {
    throw new UsageError(`${image} is inside --root ${dir} and would be copied into itself; create it elsewhere`)
  }
}

/** Refuse to replace a non-empty file without --force. */
export function checkTarget(image: string, force: boolean): void {
  let st
  try {
    st = statSync(image)
  } catch {
    return
  }
  if (st.isDirectory()) throw new HostError(image, 'EISDIR', 'is a directory; give the path of an image file')
  if (st.isFile() && st.size > 0 && !force) {
    throw new CommandError(`${image}: file exists and is not empty; add --force to replace it`, EXIT.FAILED, 'EEXIST')
  }
}
