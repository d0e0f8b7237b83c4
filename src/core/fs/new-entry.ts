/**
 * Owner, group and mode of a new entry, the POSIX way: one rule for every
 * path that creates entries in an image (the mount's mknod/mkdir/symlink/
 * create, and the editing commands mkdir, touch, ln -s, truncate, cp).
 *
 * The new entry belongs to the caller (uid). Its group is the caller's gid,
 * unless the parent directory has the set-group-ID bit: then the group is the
 * parent's, and a new directory gets the set-group-ID bit too, so the rule
 * carries on below it (as Linux does for ext4 and the other local
 * filesystems).
 */
import {S_IFDIR, S_IFMT} from '../types.js'

export const S_ISGID = 0o2000

/** What the rule needs of the parent directory. */
export interface ParentAttrs {
  mode: number
  gid: number
}

/** Who creates the entry. */
export interface Creator {
  uid: number
  gid: number
}

export interface NewEntryAttrs {
  uid: number
  gid: number
  /** `mode` as given, with S_ISGID added for a directory in a set-group-ID directory. */
  mode: number
}

/** uid, gid and mode of a new entry of `mode` (type bits included) made by `caller` in `parent`. */
export function newEntryAttrs(parent: ParentAttrs, caller: Creator, mode: number): NewEntryAttrs {
  if (!(parent.mode & S_ISGID)) return {uid: caller.uid, gid: caller.gid, mode}
  return {uid: caller.uid, gid: parent.gid, mode: (mode & S_IFMT) === S_IFDIR ? mode | S_ISGID : mode}
}
