/**
 * A small declarative codec for fixed-size little-endian records. Each on-disk
 * structure is declared once as a field list; `decode`, `encode`, `size` and
 * `offsetOf` all read that list, so no offset is ever written twice.
 *
 * u64 and s64 fields are JavaScript numbers: the format keeps every value below
 * 2^53, and decoding a larger one throws (the caller reports the block as corrupt).
 */

type FieldType =
  | {kind: 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 's64'}
  | {kind: 'bytes'; length: number}
  | {kind: 'reserved'; length: number}

const WIDTH = {u8: 1, u16: 2, u32: 4, s32: 4, u64: 8, s64: 8} as const

export const u8 = {kind: 'u8'} as const
export const u16 = {kind: 'u16'} as const
export const u32 = {kind: 'u32'} as const
export const s32 = {kind: 's32'} as const
export const u64 = {kind: 'u64'} as const
export const s64 = {kind: 's64'} as const
export const bytes = <N extends number>(length: N) => ({kind: 'bytes', length}) as const
export const reserved = <N extends number>(length: N) => ({kind: 'reserved', length}) as const

type FieldValue<T> = T extends {kind: 'bytes'} ? Buffer : T extends {kind: 'reserved'} ? never : number
type Fields = ReadonlyArray<readonly [string, FieldType]>
type NonReserved<F extends Fields> = {
  [K in F[number] as K[1] extends {kind: 'reserved'} ? never : K[0]]: FieldValue<K[1]>
}

/** The native value of a record declared with {@link struct}. */
export type Decoded<S> = S extends Struct<infer F> ? NonReserved<F> : never

/** Thrown by decode when a u64 exceeds 2^53; callers turn it into a corruption error. */
export class RangeDecodeError extends Error {}

function fieldWidth(t: FieldType): number {
  return t.kind === 'bytes' || t.kind === 'reserved' ? t.length : WIDTH[t.kind]
}

export interface Struct<F extends Fields> {
  readonly fields: F
  readonly size: number
  /**
   * The byte offset of every field, by name: for variable-length records and
   * hot paths that read or write single fields in place rather than decode.
   */
  readonly offsets: {readonly [K in F[number][0]]: number}
  offsetOf(name: string): number
  decode(buf: Buffer, at?: number): NonReserved<F>
  /** Encode into `buf` at `at` (reserved bytes are zeroed). Returns `buf`. */
  encode(value: NonReserved<F>, buf?: Buffer, at?: number): Buffer
}

/**
 * Decode `buf` with `s`; a field out of range (a RangeDecodeError) becomes
 * the error `bad` makes of its message, naming the thing decoded.
 */
export function decodeOr<F extends Fields>(s: Struct<F>, buf: Buffer, bad: (why: string) => Error): NonReserved<F> {
  try {
    return s.decode(buf)
  } catch (e) {
    if (e instanceof RangeDecodeError) throw bad(e.message)
    throw e
  }
}

export function struct<const F extends Fields>(fields: F): Struct<F> {
  const offsets = new Map<string, number>()
  let size = 0
  for (const [name, t] of fields) {
    offsets.set(name, size)
    size += fieldWidth(t)
  }
  return {
    fields,
    size,
    offsets: Object.freeze(Object.fromEntries(offsets)) as {readonly [K in F[number][0]]: number},
    offsetOf(name: string): number {
      const off = offsets.get(name)
      if (off === undefined) throw new Error(`no field ${name}`)
      return off
    },
    decode(buf: Buffer, at = 0) {
      const out: Record<string, unknown> = {}
      let o = at
      for (const [name, t] of fields) {
        switch (t.kind) {
          case 'u8':
            out[name] = buf.readUInt8(o)
            break
          case 'u16':
            out[name] = buf.readUInt16LE(o)
            break
          case 'u32':
            out[name] = buf.readUInt32LE(o)
            break
          case 's32':
            out[name] = buf.readInt32LE(o)
            break
          case 'u64': {
            const hi = buf.readUInt32LE(o + 4)
            if (hi >= 0x200000) throw new RangeDecodeError(`${name} exceeds 2^53`)
            out[name] = hi * 0x100000000 + buf.readUInt32LE(o)
            break
          }
          case 's64': {
            const v = buf.readBigInt64LE(o)
            if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
              throw new RangeDecodeError(`${name} out of range`)
            out[name] = Number(v)
            break
          }
          case 'bytes':
            out[name] = Buffer.from(buf.subarray(o, o + t.length))
            break
          case 'reserved':
            break
        }
        o += fieldWidth(t)
      }
      return out as NonReserved<F>
    },
    encode(value, buf = Buffer.alloc(size), at = 0) {
      const v = value as Record<string, unknown>
      let o = at
      for (const [name, t] of fields) {
        const x = v[name]
        switch (t.kind) {
          case 'u8':
            buf.writeUInt8(x as number, o)
            break
          case 'u16':
            buf.writeUInt16LE(x as number, o)
            break
          case 'u32':
            buf.writeUInt32LE(x as number, o)
            break
          case 's32':
            buf.writeInt32LE(x as number, o)
            break
          case 'u64': {
            const n = x as number
            buf.writeUInt32LE(n % 0x100000000, o)
            buf.writeUInt32LE(Math.floor(n / 0x100000000), o + 4)
            break
          }
          case 's64':
            buf.writeBigInt64LE(BigInt(x as number), o)
            break
          case 'bytes': {
            const b = x as Buffer
            buf.fill(0, o, o + t.length)
            b.copy(buf, o, 0, Math.min(b.length, t.length))
            break
          }
          case 'reserved':
            buf.fill(0, o, o + t.length)
            break
        }
        o += fieldWidth(t)
      }
      return buf
    },
  }
}

/** Read a u64 that must be below 2^53 (for variable-length records). */
export function readU64(buf: Buffer, at: number): number {
  const hi = buf.readUInt32LE(at + 4)
  if (hi >= 0x200000) throw new RangeDecodeError('u64 exceeds 2^53')
  return hi * 0x100000000 + buf.readUInt32LE(at)
}

export function writeU64(buf: Buffer, at: number, n: number): void {
  buf.writeUInt32LE(n % 0x100000000, at)
  buf.writeUInt32LE(Math.floor(n / 0x100000000), at + 4)
}
