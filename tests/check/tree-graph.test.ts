// The check's upward graph: which savesets reach a tree, at which saved paths, through shared
// subtrees and tree index parts (pure, table-driven).
import t from 'tap'
import { TreeGraph, childPath } from '../../lib/check/tree-graph.js'
import { showSavedPath } from '../../lib/check/describe.js'

/**
 * Two savesets sharing a subtree at two different paths:
 *   s1: r1 ─home→ A ─ann→ C ─big→ I (index) ─→ P1, P2
 *   s2: r2 ─home→ A,  r2 ─usr→ B ─share→ C
 *   s3: root r1 as well (an unchanged saveset)
 */
function sample(limit?: number): TreeGraph {
  const g = new TreeGraph(limit)
  g.addRoot('r1', 's1')
  g.addRoot('r2', 's2')
  g.addRoot('r1', 's3')
  g.addEdge('A', 'r1', 'home')
  g.addEdge('A', 'r2', 'home')
  g.addEdge('B', 'r2', 'usr')
  g.addEdge('C', 'A', 'ann')
  g.addEdge('C', 'B', 'share')
  g.addEdge('I', 'C', 'big')
  g.addEdge('P1', 'I', null)
  g.addEdge('P2', 'I', null)
  return g
}

t.test('savesets that reach a tree', async t => {
  const g = sample()
  const cases: Array<[string, string[]]> = [
    ['r1', ['s1', 's3']],
    ['r2', ['s2']],
    ['A', ['s1', 's2', 's3']],
    ['B', ['s2']],
    ['C', ['s1', 's2', 's3']],
    ['P2', ['s1', 's2', 's3']],
    ['unknown', []],
  ]
  for (const [tree, want] of cases) t.same(g.savesetsOf(tree), want, tree)
})

t.test('saved paths of a tree; index parts are the directory of their index', async t => {
  const g = sample()
  const cases: Array<[string, string[]]> = [
    ['r1', ['/']],
    ['A', ['/home']],
    ['B', ['/usr']],
    ['C', ['/home/ann', '/usr/share']],
    ['I', ['/home/ann/big', '/usr/share/big']],
    ['P1', ['/home/ann/big', '/usr/share/big']],
  ]
  for (const [tree, want] of cases) {
    const p = g.pathsOf(tree)
    t.same(p.paths, want, tree)
    t.equal(p.more, false, `${tree}: no more`)
  }
})

t.test('the path list is capped and says there is more', async t => {
  const g = sample(1)
  t.same(g.pathsOf('C'), { paths: ['/home/ann'], more: true })
  t.same(g.pathsOf('P1'), { paths: ['/home/ann/big'], more: true })
  t.same(g.pathsOf('A'), { paths: ['/home'], more: false }, 'one path, reached twice, is one path')
})

t.test('one path within a given saveset', async t => {
  const g = sample()
  const cases: Array<[string, string, string | null]> = [
    ['C', 's1', '/home/ann'],
    ['C', 's2', '/home/ann'],
    ['B', 's1', null],
    ['B', 's2', '/usr'],
    ['P2', 's3', '/home/ann/big'],
    ['r2', 's2', '/'],
    ['r2', 's1', null],
  ]
  for (const [tree, s, want] of cases) t.equal(g.pathIn(tree, s), want, `${tree} in ${s}`)
})

t.test('names are bytes: latin1 strings round-trip and display escaped', async t => {
  const g = new TreeGraph()
  g.addRoot('r', 's')
  const name = Buffer.from([0x66, 0xff, 0x0a]).toString('latin1')
  g.addEdge('D', 'r', name)
  const [p] = g.pathsOf('D').paths
  t.same(Buffer.from(p as string, 'latin1'), Buffer.from([0x2f, 0x66, 0xff, 0x0a]))
  t.equal(showSavedPath(p as string), '/f\\377\\n')
  t.equal(childPath('/', 'x'), '/x')
  t.equal(childPath('/a', 'x'), '/a/x')
})

t.test('a cycle (impossible between hash-named objects) does not loop', async t => {
  const g = new TreeGraph()
  g.addRoot('r', 's')
  g.addEdge('X', 'r', 'x')
  g.addEdge('Y', 'X', 'y')
  g.addEdge('X', 'Y', 'back')
  t.same(g.savesetsOf('Y'), ['s'])
  t.ok(g.pathsOf('Y').paths.includes('/x/y'))
})
