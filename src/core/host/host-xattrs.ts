/**
 * Host-side extended attributes through the optional native `fs-xattr`
 * package. Without it (it is an optional dependency), xattrs are not copied
 * and the caller is told once.
 */
import {createRequire} from 'node:module'

interface FsXattr {
  listAttributesSync(path: string | Buffer): string[]
  getAttributeSync(path: string | Buffer, name: string): Buffer
  setAttributeSync(path: string | Buffer, name: string, value: Buffer): void
}

let cached: FsXattr | null | undefined

/** The fs-xattr module, or null when it is not installed or did not build. */
export function hostXattrs(): FsXattr | null {
  if (cached === undefined) {
    try {
      cached = createRequire(import.meta.url)('fs-xattr') as FsXattr
    } catch {
      cached = null
    }
  }
  return cached
}
