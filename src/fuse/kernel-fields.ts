/**
 * Reading and writing fields of the FUSE ABI (abi.ts) in place: u64s as
 * numbers, NUL-terminated names, times, the kernel's device numbers, and
 * fuse_attr from a Stat.
 */
import type {Stat, Timespec} from '../core/index.js'
import {fuseAttr} from './abi.js'

/** Write a u64 (negative and fractional values clamp to the integer below, at least 0). */
export const u64 = (b: Buffer, off: number, v: number): void => {
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(v))), off)
}

export const u64at = (b: Buffer, off: number): number => Number(b.readBigUInt64LE(off))

/** glibc dev_t (as the core stores it) → the kernel's 32-bit encoding. */
export function devToKernel(rdev: number): number {
  const d = BigInt(rdev)
  const major = Number(((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0xfffn))
  const minor = Number(((d >> 12n) & 0xffffff00n) | (d & 0xffn))
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0
}

/** The kernel's 32-bit device number → glibc dev_t. */
export function devFromKernel(dev: number): number {
  const major = (dev >>> 8) & 0xfff
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00)
  return Number(
    (BigInt(major & 0xfffff000) << 32n) |
      (BigInt(major & 0xfff) << 8n) |
      (BigInt(minor & 0xffffff00) << 12n) |
      BigInt(minor & 0xff),
  )
}

const A = fuseAttr.offsets

/** Write `st` as a fuse_attr at `off`. */
export function writeAttr(b: Buffer, off: number, st: Stat, blksize: number): void {
  u64(b, off + A.ino, st.ino)
  u64(b, off + A.size, st.size)
  u64(b, off + A.blocks, Math.ceil(st.allocated / 512))
  b.writeBigInt64LE(BigInt(st.atime.sec), off + A.atime)
  b.writeBigInt64LE(BigInt(st.mtime.sec), off + A.mtime)
  b.writeBigInt64LE(BigInt(st.ctime.sec), off + A.ctime)
  b.writeUInt32LE(st.atime.nsec, off + A.atimensec)
  b.writeUInt32LE(st.mtime.nsec, off + A.mtimensec)
  b.writeUInt32LE(st.ctime.nsec, off + A.ctimensec)
  b.writeUInt32LE(st.mode >>> 0, off + A.mode)
  b.writeUInt32LE(st.nlink >>> 0, off + A.nlink)
  b.writeUInt32LE(st.uid >>> 0, off + A.uid)
  b.writeUInt32LE(st.gid >>> 0, off + A.gid)
  b.writeUInt32LE(devToKernel(st.rdev), off + A.rdev)
  b.writeUInt32LE(blksize, off + A.blksize)
  b.writeUInt32LE(0, off + A.padding)
}

/** Reads a NUL-terminated name at `off`; returns it (copied) and the offset after the NUL. */
export function cstr(b: Buffer, off: number): [Buffer, number] {
  let end = b.indexOf(0, off)
  if (end < 0) end = b.length
  return [Buffer.from(b.subarray(off, end)), end + 1]
}

export function readTime(b: Buffer, secOff: number, nsecOff: number): Timespec {
  return {sec: Number(b.readBigInt64LE(secOff)), nsec: b.readUInt32LE(nsecOff)}
}
