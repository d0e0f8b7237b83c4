/**
 * The bounded cache of decoded tree nodes. Reads go through it; changed nodes
 * stay in it (dirty) until the Image flushes them; clean leaves are evicted
 * in the order they were read.
 */
import type {Allocator} from './allocator.js'
import type {BlockDevice} from '../io/device.js'
import {decodeNode, encodeNode, type TreeNode} from '../format/node.js'
import {fail} from '../errors.js'

export class NodeStore {
  private readonly cache = new Map<number, TreeNode>()
  private readonly dirty = new Set<number>()

  constructor(
    private readonly dev: BlockDevice,
    private readonly alloc: Allocator,
    readonly blockSize: number,
    private readonly uuid: Buffer,
    private blockCount: number,
    private readonly limit: number,
  ) {}

  /** Read (through the cache) the node at `block`, which the parent says is at `level`. */
  get(block: number, level?: number): TreeNode {
    const hit = this.cache.get(block)
    if (hit) {
      if (level !== undefined && hit.level !== level)
        throw fail('ECORRUPT', `tree block ${block}: level ${hit.level}, expected ${level}`, {block})
      return hit
    }
    if (!Number.isInteger(block) || block < 1 || block >= this.blockCount - 1)
      throw fail('ECORRUPT', `tree pointer to block ${block} is outside the image`, {block})
    const node = decodeNode(this.dev.read(block * this.blockSize, this.blockSize), block, this.uuid, level)
    this.cache.set(block, node)
    this.evict()
    return node
  }

  markDirty(n: TreeNode): void {
    this.dirty.add(n.block)
    if (!this.cache.has(n.block)) this.cache.set(n.block, n)
  }

  /** A new, empty node in a freshly allocated block. */
  create<T extends TreeNode>(make: (block: number) => T): T {
    const {start} = this.alloc.alloc(1)
    const n = make(start)
    this.cache.set(start, n)
    this.dirty.add(start)
    return n
  }

  release(n: TreeNode): void {
    this.cache.delete(n.block)
    this.dirty.delete(n.block)
    this.alloc.free(n.block, 1)
  }

  /** The image shrank (Image.fitToContents). */
  setBlockCount(n: number): void {
    this.blockCount = n
  }

  get dirtyCount(): number {
    return this.dirty.size
  }

  /** Encoded dirty nodes, ready to write; clears the dirty set. */
  takeDirty(generation: number): Array<{block: number; data: Buffer}> {
    const out = [...this.dirty]
      .sort((a, b) => a - b)
      .map((b) => ({block: b, data: encodeNode(this.cache.get(b)!, this.blockSize, this.uuid, generation)}))
    this.dirty.clear()
    this.evict()
    return out
  }

  /**
   * Past the limit, drop clean leaves, oldest read first, down to 90% of it:
   * one scan serves many inserts. Interior nodes (about 1 in 100) stay, so a
   * lookup rarely reads more than its leaf.
   */
  private evict(): void {
    if (this.cache.size <= this.limit) return
    const target = Math.floor(this.limit * 0.9)
    for (const [b, n] of this.cache) {
      if (this.cache.size <= target) break
      if (n.level === 0 && !this.dirty.has(b)) this.cache.delete(b)
    }
  }

  /** Forget every cached node (after the device changed under us). */
  clear(): void {
    this.cache.clear()
    this.dirty.clear()
  }
}
