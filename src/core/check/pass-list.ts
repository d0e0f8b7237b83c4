/**
 * The passes of fsck, in order: the one list the problem codes (their pass
 * byte is the pass number), the printed "Pass N: title" lines and the check's
 * driver (passes/index.ts attaches each pass's code) all come from.
 */
export const PASS_LIST = [
  {number: 0, name: 'superblock', title: 'superblock and backup'},
  {number: 1, name: 'journal', title: 'journal'},
  {number: 2, name: 'tree', title: 'tree, inodes'},
  {number: 3, name: 'extents', title: 'extents and block ownership'},
  {number: 4, name: 'directories', title: 'directory structure and connectivity'},
  {number: 5, name: 'links', title: 'link counts'},
  {number: 6, name: 'xattrs', title: 'extended attributes'},
  {number: 7, name: 'space', title: 'free space'},
  {number: 8, name: 'data', title: 'data checksums (--check-data)'},
] as const

export type PassName = (typeof PASS_LIST)[number]['name']

export const PASSES: readonly PassName[] = PASS_LIST.map((p) => p.name)

export function passNumber(name: PassName): number {
  return PASS_LIST.find((p) => p.name === name)!.number
}

/** What fsck prints when a pass starts: "Pass 3: extents and block ownership". */
export function passHeading(name: string): string {
  if (name === 'recheck') return 'Re-check after repair'
  const p = PASS_LIST.find((x) => x.name === name)
  return p ? `Pass ${p.number}: ${p.title}` : name
}
