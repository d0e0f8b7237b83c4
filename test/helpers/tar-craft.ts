/**
 * Hand-made tar archives for the tests: ustar headers, pax extended headers
 * ('x'/'g') with arbitrary byte values (SCHILY.xattr.*, nanosecond times,
 * raw path bytes), GNU long names ('L'/'K') and GNU sparse entries, written
 * block by block so every corner of the formats can be exercised.
 */
export interface HeaderFields {
  name: Buffer | string
  type: string
  size?: number
  mode?: number
  uid?: number
  gid?: number
  mtime?: number
  linkname?: Buffer | string
  devmajor?: number
  devminor?: number
  prefix?: Buffer | string
  /** 'ustar' (POSIX) or 'gnu' ("ustar  \0"). */
  magic?: 'ustar' | 'gnu'
}

const bytes = (v: Buffer | string | undefined) =>
  v === undefined ? Buffer.alloc(0) : Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8')

function octal(n: number, width: number): Buffer {
  return Buffer.from(n.toString(8).padStart(width - 1, '0') + '\0', 'latin1')
}

/** One 512-byte header block with its checksum. */
export function header(f: HeaderFields): Buffer {
  const b = Buffer.alloc(512)
  bytes(f.name).copy(b, 0, 0, 100)
  octal(f.mode ?? 0o644, 8).copy(b, 100)
  octal(f.uid ?? 0, 8).copy(b, 108)
  octal(f.gid ?? 0, 8).copy(b, 116)
  octal(f.size ?? 0, 12).copy(b, 124)
  octal(f.mtime ?? 1_600_000_000, 12).copy(b, 136)
  b.write(f.type, 156, 1, 'latin1')
  bytes(f.linkname).copy(b, 157, 0, 100)
  if ((f.magic ?? 'ustar') === 'ustar') b.write('ustar\x0000', 257, 8, 'latin1')
  else b.write('ustar  \x00', 257, 8, 'latin1')
  b.write('root', 265, 'latin1')
  b.write('root', 297, 'latin1')
  octal(f.devmajor ?? 0, 8).copy(b, 329)
  octal(f.devminor ?? 0, 8).copy(b, 337)
  bytes(f.prefix).copy(b, 345, 0, 155)
  b.fill(0x20, 148, 156)
  let sum = 0
  for (const x of b) sum += x
  Buffer.from(sum.toString(8).padStart(6, '0') + '\0 ', 'latin1').copy(b, 148)
  return b
}

function pad(data: Buffer): Buffer {
  const rem = data.length % 512
  return rem ? Buffer.concat([data, Buffer.alloc(512 - rem)]) : data
}

/** A header and its data, padded. */
export function entry(f: HeaderFields, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([header({...f, size: f.size ?? data.length}), pad(data)])
}

/** pax records: "LEN key=value\n" with the value as raw bytes. */
export function paxBody(records: Array<[string, Buffer | string]>): Buffer {
  const out: Buffer[] = []
  for (const [k, v] of records) {
    const body = Buffer.concat([Buffer.from(` ${k}=`, 'utf8'), bytes(v), Buffer.from('\n')])
    let len = body.length + 1
    while (String(len).length + body.length !== len) len = String(len).length + body.length
    out.push(Buffer.concat([Buffer.from(String(len)), body]))
  }
  return Buffer.concat(out)
}

/** A pax extended header ('x', or 'g' for global) entry. */
export function pax(records: Array<[string, Buffer | string]>, global = false): Buffer {
  return entry({name: global ? 'pax_global_header' : 'PaxHeader/x', type: global ? 'g' : 'x'}, paxBody(records))
}

/** A GNU long name ('L') or long link ('K') entry. */
export function gnuLong(kind: 'L' | 'K', value: Buffer | string): Buffer {
  return entry({name: '././@LongLink', type: kind, magic: 'gnu'}, Buffer.concat([bytes(value), Buffer.from([0])]))
}

/** The end of an archive: two zero blocks. */
export function end(): Buffer {
  return Buffer.alloc(1024)
}
