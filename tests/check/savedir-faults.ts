// Fault injection for the check tests: a small saved tree with inline and chunked files, where
// its objects are (by walking what the save stored), and the damage a disk or a crash does: a
// flipped byte, a deleted object, a temporary, a dead process's lock, an incomplete summary.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildTree, tmpDirFor, type FixtureNode } from '../helpers/fixture-tree.js'
import { newSavedir, saveOk, summaryOf, tarshift, type CliResult } from '../helpers/cli.js'
import { savedSubtree, withStore } from '../helpers/saved-tree.js'
import { dataPath } from '../../lib/repo/layout.js'
import { HEADER_SIZE } from '../../lib/codec/object-header.js'

type TapT = Parameters<typeof tmpDirFor>[0]

const NS = 1_000_000_000n
/** 2020-09-13: long past, so no file is racy and a second save reuses every one. */
const PAST = 1_600_000_000n * NS
export const KiB = 1024

/** small.txt and sub/note.txt inline; big.bin 1 MiB (16 or so chunks of a 64K chunker); sub/mid.bin one chunk. */
export function checkFixture(): FixtureNode {
  return {
    type: 'dir', mtimeNs: PAST,
    children: {
      'small.txt': { type: 'file', content: 'hello, check\n', mtimeNs: PAST },
      'big.bin': { type: 'file', size: 1024 * KiB, seed: 11, mtimeNs: PAST },
      sub: {
        type: 'dir', mtimeNs: PAST,
        children: {
          'mid.bin': { type: 'file', size: 40 * KiB, seed: 12, mtimeNs: PAST },
          'note.txt': { type: 'file', content: 'inline note\n', mtimeNs: PAST },
        },
      },
    },
  }
}

export interface CheckSetup {
  dir: string
  src: string
  savedir: string
  ids: string[]
}

/** The fixture saved `saves` times (subset "ck") into a new savedir with a 64 KiB chunker. */
export function savedFixture(t: TapT, saves = 1): CheckSetup {
  const dir = tmpDirFor(t, 'tarshift-check-')
  const src = path.join(dir, 'src')
  buildTree(src, checkFixture())
  const savedir = newSavedir(t, ['--chunk-size', '64K'])
  const ids: string[] = []
  for (let i = 0; i < saves; i++) ids.push(saveOk(savedir, 'ck', [src]).id)
  return { dir, src, savedir, ids }
}

export interface SavedObjects {
  root: string
  /** Tree of the src directory and of src/sub. */
  srcTree: string
  subTree: string
  bigChunks: string[]
  midChunks: string[]
}

/** Where a saveset's objects for the fixture are. */
export async function savedObjects(s: CheckSetup, id: string): Promise<SavedObjects> {
  const root = summaryOf(s.savedir, id).root
  if (!root) throw new Error(`saveset ${id} has no root`)
  return withStore(s.savedir, async store => {
    const items = await savedSubtree(store, root, s.src)
    const entry = (rel: string) => {
      const e = items.find(i => i.rel.toString() === rel)?.entry
      if (!e) throw new Error(`${rel} not saved`)
      return e
    }
    const hex = (b: Buffer | undefined): string => {
      if (!b) throw new Error('no tree')
      return b.toString('hex')
    }
    return {
      root,
      srcTree: hex(entry('').tree),
      subTree: hex(entry('sub').tree),
      bigChunks: (entry('big.bin').chunks ?? []).map(c => c.hash.toString('hex')),
      midChunks: (entry('sub/mid.bin').chunks ?? []).map(c => c.hash.toString('hex')),
    }
  })
}

export function objectFile(savedir: string, hash: string): string {
  return dataPath(savedir, hash)
}

/** The 16-byte header of an object: [kind, codec id]. */
export function kindAndCodec(savedir: string, hash: string): [number, number] {
  const head = Buffer.alloc(HEADER_SIZE)
  const fd = fs.openSync(objectFile(savedir, hash), 'r')
  try {
    fs.readSync(fd, head, 0, HEADER_SIZE, 0)
  } finally {
    fs.closeSync(fd)
  }
  return [head[5] as number, head[6] as number]
}

/** Flip one bit of the byte at `offset` past the header (inside the payload), in place. */
export function flipPayloadByte(savedir: string, hash: string, offset: number): void {
  const p = objectFile(savedir, hash)
  const fd = fs.openSync(p, 'r+')
  try {
    const b = Buffer.alloc(1)
    if (fs.readSync(fd, b, 0, 1, HEADER_SIZE + offset) !== 1) throw new Error(`object ${hash} is shorter than ${HEADER_SIZE + offset + 1} bytes`)
    b[0] = (b[0] as number) ^ 0x10
    fs.writeSync(fd, b, 0, 1, HEADER_SIZE + offset)
  } finally {
    fs.closeSync(fd)
  }
}

/** A temporary as a crashed writer leaves it, in the fan-out directory of `hash`. */
export function leaveTemporary(savedir: string, hash = 'abc'): string {
  const p = path.join(savedir, 'chunks', hash.slice(0, 2), `.x.data.host.1.abcd.tmp`)
  fs.writeFileSync(p, 'half an object')
  return p
}

/** A shared lock of a save by a pid that does not run here. */
export function leaveDeadLock(savedir: string): string {
  const host = os.hostname()
  const file = `${host.replace(/[^A-Za-z0-9_.-]/g, '_')}.999999.abcd.shared.lock`
  fs.writeFileSync(path.join(savedir, 'locks', file), JSON.stringify({ host, pid: 999999, operation: 'save', kind: 'shared', start: new Date().toISOString() }) + '\n')
  return file
}

/** A copy of saveset `id`'s summary under a new id, not finished: what a killed save leaves. */
export function leaveIncompleteSummary(savedir: string, id: string): string {
  const s = JSON.parse(fs.readFileSync(path.join(savedir, 'savesets', `${id}.json`), 'utf8')) as { id: string; finish: string | null }
  s.id = `${id.slice(0, -8)}0badf00d`
  s.finish = null
  fs.writeFileSync(path.join(savedir, 'savesets', `${s.id}.json`), JSON.stringify(s, null, 1) + '\n')
  return s.id
}

export interface CheckJson {
  errors: Array<{ kind: string; message: string; object?: string; savesets?: string[]; paths?: string[]; file?: string }>
  info: Array<{ kind: string; message: string; file?: string; count?: number; objects?: string[] }>
  savesets: number
  incomplete: number
  trees: number
  chunks: number
  chunksRead: number
  readData: string
  percent: number | null
  unreferenced: number
  temporaries: number
  staleLocks: number
  damaged: Array<{ saveset: string; lost: Array<{ object: string; what: string; state: string; path: string | null }> }>
  repair: { quarantined: Array<{ object: string; what: string; to: string }>; generation: number | null } | null
}

/** `tarshift check -r SAVEDIR ARGS...`. */
export function runCheck(savedir: string, args: string[] = []): CliResult & { out: string } {
  const r = tarshift(['check', '-r', savedir, ...args])
  return { ...r, out: r.stdout.toString() }
}

/** `tarshift check --json`, parsed. */
export function checkJson(savedir: string, args: string[] = []): { status: number | null; report: CheckJson; stderr: string } {
  const r = runCheck(savedir, ['--json', ...args])
  let report: CheckJson
  try {
    report = JSON.parse(r.out) as CheckJson
  } catch {
    throw new Error(`check --json printed no JSON (exit ${r.status}; stderr ${r.stderr}); stdout ${JSON.stringify(r.out)}`)
  }
  return { status: r.status, report, stderr: r.stderr }
}

/** Lines of a check's stdout starting with `prefix` ("error: ", "info: "). */
export function linesOf(out: string, prefix: string): string[] {
  return out.split('\n').filter(l => l.startsWith(prefix))
}
