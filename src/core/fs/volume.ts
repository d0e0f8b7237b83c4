/**
 * The state every part of the core shares while an image is open: the
 * device, geometry, tree, allocator and superblock fields. The Image owns one.
 */
import type {Allocator} from '../tree/allocator.js'
import type {BTree} from '../tree/btree.js'
import type {DataWriter} from '../io/data-writer.js'
import type {BlockDevice} from '../io/device.js'
import type {Geometry} from '../format/geometry.js'
import type {SuperblockFields} from '../format/superblock.js'
import type {PackCache} from '../fs/packs.js'

export interface Volume {
  dev: BlockDevice
  geo: Geometry
  uuid: Buffer
  sb: SuperblockFields
  tree: BTree
  alloc: Allocator
  data: DataWriter
  readOnly: boolean
  /** Recently read packs (packs.ts), made on first use. */
  packCache?: PackCache
}
