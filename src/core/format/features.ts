/**
 * The feature table (FORMAT.md §4): one row per feature bit. The supported
 * masks and the names `dump` prints are derived from it.
 */
export type FeatureKind = 'compat' | 'roCompat' | 'incompat'

export interface Feature {
  name: string
  kind: FeatureKind
  bit: number
  description: string
}

export const FEATURES: readonly Feature[] = [
  {name: 'zstd', kind: 'incompat', bit: 0, description: 'extents may be zstd-compressed'},
  {
    name: 'needs_recovery',
    kind: 'incompat',
    bit: 1,
    description: 'the journal may hold transactions not yet written home',
  },
  {name: 'packed', kind: 'incompat', bit: 2, description: 'file tails may be packed together into shared packs'},
  {name: 'journal', kind: 'compat', bit: 0, description: 'every change goes through the write-ahead journal'},
]

export function featureMask(kind: FeatureKind): number {
  return FEATURES.filter((f) => f.kind === kind).reduce((m, f) => m + 2 ** f.bit, 0)
}

export function hasFeature(flags: number, name: string): boolean {
  const f = FEATURES.find((x) => x.name === name)
  if (!f) throw new Error(`unknown feature ${name}`)
  return Math.floor(flags / 2 ** f.bit) % 2 === 1
}

export function withFeature(flags: number, name: string): number {
  return hasFeature(flags, name) ? flags : flags + 2 ** FEATURES.find((x) => x.name === name)!.bit
}

/** Names of the bits set in `flags`; unknown bits appear as `kind_bitN`. */
export function featureNames(kind: FeatureKind, flags: number): string[] {
  const out: string[] = []
  for (let bit = 0; bit < 53; bit++) {
    if (Math.floor(flags / 2 ** bit) % 2 !== 1) continue
    const f = FEATURES.find((x) => x.kind === kind && x.bit === bit)
    out.push(f ? f.name : `${kind}_bit${bit}`)
  }
  return out
}

/** Bits of `flags` this tool does not know. */
export function unknownBits(kind: FeatureKind, flags: number): number {
  const known = featureMask(kind)
  let unknown = 0
  for (let bit = 0; bit < 53; bit++) {
    const v = 2 ** bit
    if (Math.floor(flags / v) % 2 === 1 && Math.floor(known / v) % 2 === 0) unknown += v
  }
  return unknown
}

export function withoutFeature(flags: number, name: string): number {
  return hasFeature(flags, name) ? flags - 2 ** FEATURES.find((x) => x.name === name)!.bit : flags
}
