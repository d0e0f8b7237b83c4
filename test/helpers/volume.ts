/**
 * An in-memory volume for unit tests of the tree and allocator: a real
 * allocator, node store and tree over a MemoryDevice, with a way to write
 * everything out and reopen from the bytes (so encode/decode is exercised).
 */
import crypto from 'node:crypto'
import {Allocator} from '../../src/core/tree/allocator.js'
import {BTree} from '../../src/core/tree/btree.js'
import {MemoryDevice} from '../../src/core/io/device.js'
import {computeGeometry} from '../../src/core/format/geometry.js'
import {NodeStore} from '../../src/core/tree/node-store.js'

export function memTree(blockSize = 1024, blocks = 65536, cache = 64) {
  const dev = new MemoryDevice(blockSize * blocks)
  const geo = computeGeometry(blockSize, blockSize * 4, blocks, 0)
  const uuid = crypto.randomBytes(16)
  const alloc = Allocator.format(dev, geo, uuid)
  let store = new NodeStore(dev, alloc, blockSize, uuid, blocks, cache)
  let tree = BTree.create(store)
  const persist = () => {
    for (const {block, data} of [...store.takeDirty(1), ...alloc.takeDirty(1)]) dev.write(block * blockSize, data)
  }
  return {
    dev,
    geo,
    uuid,
    alloc,
    get tree() {
      return tree
    },
    get store() {
      return store
    },
    persist,
    /** Write everything, then read the tree back through a fresh cache. */
    reopen() {
      persist()
      store = new NodeStore(dev, alloc, blockSize, uuid, blocks, cache)
      tree = new BTree(store, tree.root, tree.height)
    },
  }
}
