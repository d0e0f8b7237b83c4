/**
 * Host extended attributes through the optional native package `fs-xattr`
 * (getxattr/setxattr/listxattr, which follow symlinks, and take string
 * paths). Reading goes through /proc/self/fd/N so that non-UTF-8 paths work.
 */
import fs from 'node:fs'

export interface XattrLib {
  getAttributeSync(path: string, attr: string): Buffer
  setAttributeSync(path: string, attr: string, value: Buffer | string): void
  listAttributesSync(path: string): string[]
  removeAttributeSync(path: string, attr: string): void
}

let lib: XattrLib | undefined
try {
  lib = (await import('fs-xattr')) as XattrLib
} catch {
  lib = undefined
}

/** The fs-xattr module, or undefined when it is not installed/built. */
export function xattrLib(): XattrLib | undefined {
  return lib
}

/**
 * All xattrs of a regular file or directory (Linux allows user.* xattrs only
 * on those two types). undefined when fs-xattr is unavailable.
 */
export function readHostXattrs(p: Buffer | string): Map<string, Buffer> | undefined {
  if (!lib) return undefined
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW)
  try {
    const via = `/proc/self/fd/${fd}`
    const out = new Map<string, Buffer>()
    for (const name of lib.listAttributesSync(via).sort()) out.set(name, lib.getAttributeSync(via, name))
    return out
  } finally {
    fs.closeSync(fd)
  }
}
