/**
 * The single B+tree of the format (FORMAT.md §6): insert, replace, delete,
 * point lookup and ordered range scans over (objectid, type, offset) keys.
 */
import {NodeStore} from './node-store.js'
import {compareKeys, type Key} from '../format/keys.js'
import {
  innerCapacity,
  isLeaf,
  ITEM_SIZE,
  leafCapacity,
  MAX_HEIGHT,
  NODE_HEADER,
  type InnerNode,
  type LeafNode,
  type TreeNode,
} from '../format/node.js'
import {fail} from '../errors.js'

interface Sibling {
  key: Key
  block: number
}

/** Index of the last key ≤ `key` (or 0): the child to descend into. */
function childIndex(keys: Key[], key: Key): number {
  let lo = 0
  let hi = keys.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (compareKeys(keys[mid]!, key) <= 0) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** First index with keys[i] ≥ key. */
function lowerBound(keys: Key[], key: Key): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (compareKeys(keys[mid]!, key) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class BTree {
  constructor(
    private readonly store: NodeStore,
    public root: number,
    public height: number,
  ) {}

  /** An empty tree: one empty leaf. */
  static create(store: NodeStore): BTree {
    const leaf = store.create((block) => ({block, level: 0 as const, keys: [], values: [], used: NODE_HEADER}))
    return new BTree(store, leaf.block, 1)
  }

  /** Largest value an item may have. */
  get maxValue(): number {
    return leafCapacity(this.store.blockSize) - ITEM_SIZE
  }

  private rootNode(): TreeNode {
    const n = this.store.get(this.root, this.height - 1)
    return n
  }

  private leafFor(key: Key): LeafNode {
    let n = this.rootNode()
    while (!isLeaf(n)) n = this.store.get(n.children[childIndex(n.keys, key)]!, n.level - 1)
    return n
  }

  get(key: Key): Buffer | undefined {
    const leaf = this.leafFor(key)
    const i = lowerBound(leaf.keys, key)
    return i < leaf.keys.length && compareKeys(leaf.keys[i]!, key) === 0 ? leaf.values[i] : undefined
  }

  /** Insert or replace. */
  put(key: Key, value: Buffer): void {
    if (value.length > this.maxValue)
      throw fail('EOVERFLOW', `tree item of ${value.length} bytes exceeds the ${this.maxValue}-byte limit`)
    const splits = this.insertInto(this.rootNode(), key, value)
    if (splits.length === 0) return
    if (this.height >= MAX_HEIGHT) throw fail('ENOSPC', 'tree height limit reached')
    const old = this.rootNode()
    const root = this.store.create<InnerNode>((block) => ({
      block,
      level: old.level + 1,
      keys: [old.keys[0] ?? key, ...splits.map((s) => s.key)],
      children: [old.block, ...splits.map((s) => s.block)],
    }))
    this.root = root.block
    this.height++
  }

  private insertInto(n: TreeNode, key: Key, value: Buffer): Sibling[] {
    if (isLeaf(n)) return this.insertLeaf(n, key, value)
    if (compareKeys(key, n.keys[0]!) < 0) {
      // keys[0] stays the smallest key below this node, so a split of child 0 never yields a smaller separator
      n.keys[0] = key
      this.store.markDirty(n)
    }
    const ci = childIndex(n.keys, key)
    const splits = this.insertInto(this.store.get(n.children[ci]!, n.level - 1), key, value)
    if (splits.length === 0) return []
    n.keys.splice(ci + 1, 0, ...splits.map((s) => s.key))
    n.children.splice(ci + 1, 0, ...splits.map((s) => s.block))
    this.store.markDirty(n)
    const cap = innerCapacity(this.store.blockSize)
    if (n.keys.length <= cap) return []
    const appended = ci + splits.length === n.keys.length - 1
    const cut = appended ? n.keys.length - splits.length : n.keys.length >> 1
    return this.splitInner(n, cut, cap)
  }

  private splitInner(n: InnerNode, cut: number, cap: number): Sibling[] {
    const out: Sibling[] = []
    let keys = n.keys.splice(cut)
    let children = n.children.splice(cut)
    while (keys.length) {
      const take = Math.min(cap, keys.length)
      const k = keys.slice(0, take)
      const c = children.slice(0, take)
      keys = keys.slice(take)
      children = children.slice(take)
      const sib = this.store.create<InnerNode>((block) => ({block, level: n.level, keys: k, children: c}))
      out.push({key: k[0]!, block: sib.block})
    }
    return out
  }

  private insertLeaf(n: LeafNode, key: Key, value: Buffer): Sibling[] {
    const i = lowerBound(n.keys, key)
    if (i < n.keys.length && compareKeys(n.keys[i]!, key) === 0) {
      n.used += value.length - n.values[i]!.length
      n.values[i] = value
    } else {
      n.keys.splice(i, 0, key)
      n.values.splice(i, 0, value)
      n.used += ITEM_SIZE + value.length
    }
    this.store.markDirty(n)
    const cap = this.store.blockSize
    if (n.used <= cap) return []
    return this.splitLeaf(n, i === n.keys.length - 1 ? n.keys.length - 1 : -1)
  }

  /** Split an overfull leaf; `appendAt` ≥ 0 puts the items from there into new leaves (sequential inserts). */
  private splitLeaf(n: LeafNode, appendAt: number): Sibling[] {
    const bs = this.store.blockSize
    const sizes = n.values.map((v) => ITEM_SIZE + v.length)
    let cut = appendAt
    if (cut < 0) {
      // balanced cut: smallest prefix holding at least half the bytes, if both halves fit
      const total = sizes.reduce((a, b) => a + b, 0)
      let acc = 0
      cut = 0
      while (cut < sizes.length && acc + sizes[cut]! <= total / 2) acc += sizes[cut++]!
      if (cut === 0) cut = 1
    }
    // left keeps [0, cut); it must fit: move the cut left until it does
    let left = NODE_HEADER + sizes.slice(0, cut).reduce((a, b) => a + b, 0)
    while (left > bs && cut > 1) left -= sizes[--cut]!
    const keys = n.keys.splice(cut)
    const values = n.values.splice(cut)
    n.used = left
    const out: Sibling[] = []
    // pack the rest greedily into as many new leaves as needed
    let at = 0
    while (at < keys.length) {
      let used = NODE_HEADER
      let end = at
      while (end < keys.length && used + ITEM_SIZE + values[end]!.length <= bs)
        used += ITEM_SIZE + values[end++]!.length
      const k = keys.slice(at, end)
      const v = values.slice(at, end)
      const u = used
      const sib = this.store.create<LeafNode>((block) => ({block, level: 0 as const, keys: k, values: v, used: u}))
      out.push({key: k[0]!, block: sib.block})
      at = end
    }
    return out
  }

  /** Remove `key`; returns whether it was there. */
  delete(key: Key): boolean {
    const r = this.deleteFrom(this.rootNode(), key)
    let root = this.rootNode()
    if (r === 'empty' && !isLeaf(root)) {
      // every leaf emptied: start again from one empty leaf
      this.store.release(root)
      const leaf = this.store.create((block) => ({block, level: 0 as const, keys: [], values: [], used: NODE_HEADER}))
      this.root = leaf.block
      this.height = 1
      return true
    }
    // collapse a root with a single child
    while (!isLeaf(root) && root.children.length === 1) {
      const child = this.store.get(root.children[0]!, root.level - 1)
      this.store.release(root)
      this.root = child.block
      this.height--
      root = child
    }
    return r !== 'absent'
  }

  private deleteFrom(n: TreeNode, key: Key): 'absent' | 'ok' | 'empty' {
    if (isLeaf(n)) {
      const i = lowerBound(n.keys, key)
      if (i >= n.keys.length || compareKeys(n.keys[i]!, key) !== 0) return 'absent'
      n.used -= ITEM_SIZE + n.values[i]!.length
      n.keys.splice(i, 1)
      n.values.splice(i, 1)
      this.store.markDirty(n)
      return n.keys.length === 0 ? 'empty' : 'ok'
    }
    const ci = childIndex(n.keys, key)
    const child = this.store.get(n.children[ci]!, n.level - 1)
    const r = this.deleteFrom(child, key)
    if (r !== 'empty') return r
    this.store.release(child)
    n.keys.splice(ci, 1)
    n.children.splice(ci, 1)
    this.store.markDirty(n)
    return n.children.length === 0 ? 'empty' : 'ok'
  }

  /**
   * Items with from ≤ key < to, in key order. Do not change the tree while
   * iterating; collect first when the loop body mutates.
   */
  *range(from: Key, to: Key): Generator<[Key, Buffer]> {
    const stack: Array<{node: InnerNode; index: number}> = []
    let n = this.rootNode()
    while (!isLeaf(n)) {
      const ci = childIndex(n.keys, from)
      stack.push({node: n, index: ci})
      n = this.store.get(n.children[ci]!, n.level - 1)
    }
    let leaf: LeafNode = n
    let i = lowerBound(leaf.keys, from)
    for (;;) {
      for (; i < leaf.keys.length; i++) {
        const k = leaf.keys[i]!
        if (compareKeys(k, to) >= 0) return
        yield [k, leaf.values[i]!]
      }
      // next leaf: climb until a node has a next child, then descend leftmost
      let top: {node: InnerNode; index: number} | undefined
      while ((top = stack.pop())) {
        if (top.index + 1 < top.node.children.length) break
      }
      if (!top) return
      if (compareKeys(top.node.keys[top.index + 1]!, to) >= 0) return
      top.index++
      stack.push(top)
      let m = this.store.get(top.node.children[top.index]!, top.node.level - 1)
      while (!isLeaf(m)) {
        stack.push({node: m, index: 0})
        m = this.store.get(m.children[0]!, m.level - 1)
      }
      leaf = m
      i = 0
    }
  }

  /** Read one node (checkers walk the tree themselves, to survive a bad subtree). */
  readNode(block: number, level: number): TreeNode {
    return this.store.get(block, level)
  }

  /** Visit every node (for stats and checks): callback gets each node once, parents first. */
  walk(visit: (n: TreeNode) => void): void {
    const rec = (block: number, level: number) => {
      const n = this.store.get(block, level)
      visit(n)
      if (!isLeaf(n)) for (const c of n.children) rec(c, level - 1)
    }
    rec(this.root, this.height - 1)
  }
}
