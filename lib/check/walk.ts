// The reachability walk: from every saveset's root, each distinct tree object read once (tree
// indexes and each of their parts too), every data chunk an entry names checked to exist (a
// stat), and the edges recorded that later name the savesets and paths a damaged object costs.
// A tree that is missing or does not decode is recorded, not thrown: the walk goes on with the
// rest. Only a savedir I/O error (not ENOENT) stops it. Up to 8 trees are read at once, through
// the object store's worker pool, which also verifies each tree's SHA-256 against its name.
import { ObjectKind } from '../codec/object-header.js'
import { CorruptObjectError, MissingObjectError } from '../errors.js'
import type { ObjectStore } from '../repo/object-store.js'
import { isObjectName } from '../repo/layout.js'
import { EntryType, type Entry } from '../tree/entry.js'
import { decodeTree, decodeTreeIndex } from '../tree/tree-codec.js'
import { ChunkUsers } from './chunk-users.js'
import { corruptWhy } from './describe.js'
import { pump } from './pump.js'
import { TreeGraph } from './tree-graph.js'

export const TREES_IN_FLIGHT = 8

export type ObjectRole = 'tree' | 'chunk' | 'warnings'

export interface ObjectProblem {
  hash: string
  what: ObjectRole
  state: 'missing' | 'corrupt'
  why: string
  /** Corrupt, yet its bytes match its name: it does not decode as what it is used for. */
  verified?: boolean
}

export interface WalkResult {
  graph: TreeGraph
  chunks: ChunkUsers
  /** Every tree object reached (read or not): trees, tree indexes, their parts. */
  trees: Set<string>
  treesRead: number
  /** Trees that are missing or do not decode, by name. */
  treeProblems: Map<string, ObjectProblem>
  /** Referenced data chunks whose .data does not exist. */
  missingChunks: string[]
}

export interface WalkRoot {
  saveset: string
  root: string
}

type TreeRead =
  | { kind: 'tree'; entries: Entry[] }
  | { kind: 'index'; parts: string[] }
  /** verified: the bytes match the object's name (they decode wrong, or are of another kind). */
  | { kind: 'problem'; state: 'missing' | 'corrupt'; why: string; verified: boolean }

/**
 * Read one tree object. `part`: it is named by a tree index, so it must be a plain tree.
 * Missing and corrupt objects come back as problems; other errors (EIO, EACCES) are thrown.
 */
export async function readTreeObject(store: ObjectStore, hex: string, part: boolean): Promise<TreeRead> {
  let obj: { kind: ObjectKind; data: Buffer }
  try {
    obj = await store.get(hex)
  } catch (e) {
    if (e instanceof MissingObjectError) return { kind: 'problem', state: 'missing', why: 'no such object', verified: false }
    if (e instanceof CorruptObjectError) return { kind: 'problem', state: 'corrupt', why: corruptWhy(e), verified: false }
    throw e
  }
  try {
    if (obj.kind === ObjectKind.Tree) return { kind: 'tree', entries: decodeTree(obj.data) }
    if (obj.kind === ObjectKind.TreeIndex && !part) {
      const parts = decodeTreeIndex(obj.data).map(p => p.toString('hex'))
      const bad = parts.find(p => !isObjectName(p))
      if (bad !== undefined) return { kind: 'problem', state: 'corrupt', why: `tree index names an invalid object "${bad}"`, verified: true }
      return { kind: 'index', parts }
    }
  } catch (e) {
    return { kind: 'problem', state: 'corrupt', why: (e as Error).message, verified: true }
  }
  const found = obj.kind === ObjectKind.Data ? 'a data chunk' : 'a tree index'
  return { kind: 'problem', state: 'corrupt', why: `expected ${part ? 'a tree part' : 'a tree'}, found ${found}`, verified: true }
}

export async function walkSavesets(store: ObjectStore, roots: readonly WalkRoot[]): Promise<WalkResult> {
  const graph = new TreeGraph()
  const chunks = new ChunkUsers()
  const trees = new Set<string>()
  const treeProblems = new Map<string, ObjectProblem>()
  const missingChunks: string[] = []
  let treesRead = 0
  /** Trees to read (depth first keeps this short), with whether each is an index part. */
  const stack: Array<[string, boolean]> = []

  const reach = (hex: string, part: boolean): void => {
    if (trees.has(hex)) return
    trees.add(hex)
    stack.push([hex, part])
  }
  for (const r of roots) {
    graph.addRoot(r.root, r.saveset)
    reach(r.root, false)
  }

  const visit = async ([hex, part]: [string, boolean]): Promise<void> => {
    const r = await readTreeObject(store, hex, part)
    if (r.kind === 'problem') {
      treeProblems.set(hex, { hash: hex, what: 'tree', state: r.state, why: r.why, verified: r.verified })
      return
    }
    treesRead++
    if (r.kind === 'index') {
      for (const p of r.parts) {
        graph.addEdge(p, hex, null)
        reach(p, true)
      }
      return
    }
    const bad = badReference(r.entries)
    if (bad !== null) {
      treeProblems.set(hex, { hash: hex, what: 'tree', state: 'corrupt', why: bad, verified: true })
      return
    }
    for (const e of r.entries) {
      if (e.chunks && e.chunks.length > 0) {
        const name = e.name.toString('latin1')
        for (const c of e.chunks) {
          const h = c.hash.toString('hex')
          if (chunks.add(h, c, hex, name) && !store.has(h)) missingChunks.push(h)
        }
      }
      if (e.type === EntryType.Dir && e.tree) {
        const child = e.tree.toString('hex')
        graph.addEdge(child, hex, e.name.toString('latin1'))
        reach(child, false)
      }
    }
  }

  await pump(() => stack.pop(), visit, TREES_IN_FLIGHT)
  return { graph, chunks, trees, treesRead, treeProblems, missingChunks }
}

/** A reference in a decoded tree that cannot name an object (a writer bug), or null. */
function badReference(entries: readonly Entry[]): string | null {
  for (const e of entries) {
    for (const c of e.chunks ?? []) {
      if (c.hash.length !== 32) return `entry "${e.name.toString('latin1')}" names a chunk of ${c.hash.length} bytes`
      if (!Number.isSafeInteger(c.length) || c.length < 0) return `entry "${e.name.toString('latin1')}" gives a chunk length of ${c.length}`
      if (c.offset !== undefined && (!Number.isSafeInteger(c.offset) || c.offset < 0)) return `entry "${e.name.toString('latin1')}" gives a slice offset of ${c.offset}`
    }
    if (e.type === EntryType.Dir && e.tree && e.tree.length !== 32) return `entry "${e.name.toString('latin1')}" names a tree of ${e.tree.length} bytes`
  }
  return null
}

/**
 * Find every (tree, entry name) that uses one of `wanted`, reading the trees again (each once).
 * Only for damaged chunks with more users than the walk kept: rare, and never on a clean savedir.
 */
export async function findUsers(store: ObjectStore, walk: WalkResult, wanted: ReadonlySet<string>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  const todo = [...walk.trees].filter(t => !walk.treeProblems.has(t))
  await pump(() => todo.pop(), async hex => {
    const r = await readTreeObject(store, hex, false)
    if (r.kind !== 'tree') return
    for (const e of r.entries) {
      for (const c of e.chunks ?? []) {
        const h = c.hash.toString('hex')
        if (!wanted.has(h)) continue
        const l = out.get(h)
        const pair = [hex, e.name.toString('latin1')]
        if (l) l.push(...pair)
        else out.set(h, pair)
      }
    }
  }, TREES_IN_FLIGHT)
  return out
}
