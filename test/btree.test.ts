// The B+tree against a Map model: random inserts, replacements and deletes
// with values of every size, small blocks so the tree gets deep, a tiny cache
// so nodes are evicted and re-read, and a reopen from the bytes.
import t, {type Test} from 'tap'
import {compareKeys, MAX_KEY, type Key} from '../src/core/format/keys.js'
import {Rng} from './helpers/rng.js'
import {memTree} from './helpers/volume.js'

const keyStr = (k: Key) => `${k.objectid}/${k.type}/${k.offset}`

function check(t: Test, tree: ReturnType<typeof memTree>['tree'], model: Map<string, {key: Key; value: Buffer}>) {
  const expected = [...model.values()].sort((a, b) => compareKeys(a.key, b.key))
  const got = [...tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)]
  t.equal(got.length, expected.length, 'item count')
  let bad = 0
  for (let i = 0; i < expected.length; i++) {
    if (!got[i] || compareKeys(got[i]![0], expected[i]!.key) !== 0 || !got[i]![1].equals(expected[i]!.value)) bad++
  }
  t.equal(bad, 0, 'every item in order with its value')
  for (const {key, value} of expected.slice(0, 200)) if (!tree.get(key)?.equals(value)) bad++
  t.equal(bad, 0, 'point lookups')
}

t.test('random operations against a model', async (t) => {
  const rng = new Rng('btree')
  const m = memTree(1024, 65536, 32)
  const model = new Map<string, {key: Key; value: Buffer}>()
  let failedDeletes = 0
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 3000; i++) {
      const key = {objectid: rng.int(1, 400), type: rng.int(1, 4), offset: rng.int(0, 2 ** 40)}
      const r = rng.float()
      if (r < 0.65) {
        const size = rng.chance(0.05) ? rng.int(200, m.tree.maxValue) : rng.int(0, 60)
        const value = rng.bytes(size)
        m.tree.put(key, value)
        model.set(keyStr(key), {key, value})
      } else if (model.size) {
        const victim = [...model.values()][rng.int(0, model.size - 1)]!
        if (!m.tree.delete(victim.key)) failedDeletes++
        model.delete(keyStr(victim.key))
      }
    }
    t.equal(failedDeletes, 0, 'every delete of a present key reports true')
    t.notOk(m.tree.delete({objectid: 999999, type: 1, offset: 1}), 'deleting an absent key reports false')
    check(t, m.tree, model)
    m.reopen()
    check(t, m.tree, model)
  }
  t.ok(m.tree.height >= 3, `tree grew deep (height ${m.tree.height})`)
  // delete everything: the tree shrinks back to one empty leaf and frees its blocks
  const freeBefore = m.alloc.freeBlocks
  for (const {key} of [...model.values()]) m.tree.delete(key)
  t.equal(m.tree.height, 1)
  t.equal([...m.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)].length, 0)
  t.ok(m.alloc.freeBlocks > freeBefore, 'emptied nodes were freed')
})

t.test('sequential inserts pack leaves densely', async (t) => {
  const m = memTree(4096, 65536, 1024)
  for (let i = 0; i < 20000; i++) m.tree.put({objectid: i, type: 1, offset: 0}, Buffer.alloc(128))
  let leaves = 0
  m.tree.walk((n) => {
    if (n.level === 0) leaves++
  })
  const perLeaf = Math.floor((4096 - 56) / (25 + 128))
  t.ok(leaves <= Math.ceil(20000 / perLeaf) * 1.05, `${leaves} leaves for 20000 items (${perLeaf} fit per leaf)`)
})

t.test('an item larger than a leaf is refused', async (t) => {
  const m = memTree(1024)
  t.throws(() => m.tree.put({objectid: 1, type: 1, offset: 0}, Buffer.alloc(m.tree.maxValue + 1)), {code: 'EOVERFLOW'})
})
