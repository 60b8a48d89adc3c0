// Helpers for the incremental-save integration tests (tests/integration/incremental*.test.ts):
// saves with a private local cache (XDG_CACHE_HOME), a save running in the background (to be
// killed or interrupted), restore piped into GNU tar, and a look at the savedir's objects from
// outside: their kinds (header byte 5), their last-use times, and every object a saveset reaches.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { HEADER_SIZE, ObjectKind } from '../../lib/codec/object-header.js'
import { readConfig } from '../../lib/repo/config.js'
import { dataPath, timePath } from '../../lib/repo/layout.js'
import { ObjectStore } from '../../lib/repo/object-store.js'
import { listSummaries, type SavesetSummary } from '../../lib/repo/saveset.js'
import { EntryType } from '../../lib/tree/entry.js'
import type { FixtureNode } from './fixture-tree.js'
import { readTree, treeObjects } from '../../lib/tree/tree-store.js'
import { showRun, TARSHIFT_BIN, tarshift, type CliResult, type SaveJson } from './cli.js'
import { assertSameTree } from './compare-trees.js'
import type { Test } from 'tap'

/** What `tarshift save --json` prints, with the incremental fields cli.ts's SaveJson leaves out. */
export interface IncSaveJson extends SaveJson {
  filesReused: number
  treesFromSummaries: number
  treesRead: number
  references: string[]
  checkpoints: number
}

/** Runs `tarshift save -r SAVEDIR --subset SUBSET --progress none --json ARGS...` with the given
 *  cache home; throws with stderr unless it exits with `want`. */
export function incSave(savedir: string, subset: string, args: string[], cacheHome: string, want = 0): IncSaveJson {
  const r = tarshift(['save', '-r', savedir, '--subset', subset, '--progress', 'none', '--json', ...args], {
    env: { XDG_CACHE_HOME: cacheHome },
    timeout: 300_000,
  })
  if (r.status !== want) throw new Error(`save ${args.join(' ')}: expected exit ${want}, got ${showRun(r)}`)
  const line = r.stdout.toString().trim()
  try {
    return JSON.parse(line) as IncSaveJson
  } catch {
    throw new Error(`save printed no JSON summary (${showRun(r)}); stdout: ${JSON.stringify(line)}`)
  }
}

/** The environment for a child tarshift: without tap's NODE_OPTIONS hooks (see cli.ts). */
function childEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('_TAPJS_') || k === 'TAP' || k.startsWith('TAP_')) continue
    env[k] = v
  }
  delete env.TARSHIFT_SAVEDIR
  return { ...env, LC_ALL: 'C', ...extra }
}

export interface Background {
  child: ChildProcess
  /** Resolves when the process has exited. */
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
}

/** `tarshift ARGS...` started in the background. Through env(1), as cli.ts does (tap's hooks put
 *  NODE_OPTIONS back into a child's environment); env execs node, so child.pid is tarshift's. */
export function tarshiftBackground(args: string[], cacheHome: string): Background {
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, TARSHIFT_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv({ XDG_CACHE_HOME: cacheHome }),
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout?.on('data', (d: Buffer) => out.push(d))
  child.stderr?.on('data', (d: Buffer) => err.push(d))
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (status, signal) => resolve({ status, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }))
  })
  return { child, done }
}

/** Polls `pred` every `everyMs` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(pred: () => T | undefined, timeoutMs: number, everyMs = 25): Promise<T | undefined> {
  const end = performance.now() + timeoutMs
  for (;;) {
    const v = pred()
    if (v !== undefined) return v
    if (performance.now() > end) return undefined
    await new Promise(r => setTimeout(r, everyMs))
  }
}

/** Summaries read straight from SAVEDIR/savesets (cheap enough to poll; `list --json` is the same). */
export function summariesNow(savedir: string): SavesetSummary[] {
  return listSummaries(savedir)
}

/** `tarshift list -r SAVEDIR --json`. */
export function listJson(savedir: string): SavesetSummary[] {
  const r = tarshift(['list', '-r', savedir, '--json'])
  if (r.status !== 0) throw new Error(`list: ${showRun(r)}`)
  return JSON.parse(r.stdout.toString()) as SavesetSummary[]
}

/**
 * `tarshift restore -r SAVEDIR ID [PATH]` into a tar file, then `tar -tf` of it (its exit code
 * proves a valid archive) and `tar -xpf` into `outDir`.
 */
export function restoreVia(savedir: string, id: string, outDir: string, tarFile: string, restorePath?: string): { restore: CliResult; list: number | null; extract: number | null; tarStderr: string } {
  fs.mkdirSync(outDir, { recursive: true })
  const fd = fs.openSync(tarFile, 'w')
  let restore: CliResult
  try {
    const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, TARSHIFT_BIN, 'restore', '-r', savedir, id, ...(restorePath ? [restorePath] : [])], {
      stdio: ['ignore', fd, 'pipe'],
      env: childEnv({}),
      timeout: 300_000,
    })
    if (r.error) throw r.error
    restore = { status: r.status, signal: r.signal, stdout: Buffer.alloc(0), stderr: r.stderr.toString() }
  } finally {
    fs.closeSync(fd)
  }
  const tarEnv = { ...process.env, LC_ALL: 'C' }
  const list = spawnSync('tar', ['-tf', tarFile], { env: tarEnv, maxBuffer: 256 * 1024 * 1024 })
  const extract = spawnSync('tar', ['-xpf', tarFile, '--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', outDir], { env: tarEnv })
  return { restore, list: list.status, extract: extract.status, tarStderr: list.stderr.toString() + extract.stderr.toString() }
}

/** Every `.data` object of the savedir: name → kind (byte 5 of its 16-byte header). */
export function objectKinds(savedir: string): Map<string, ObjectKind> {
  const out = new Map<string, ObjectKind>()
  const chunks = path.join(savedir, 'chunks')
  const head = Buffer.alloc(HEADER_SIZE)
  for (const fan of fs.readdirSync(chunks)) {
    for (const name of fs.readdirSync(path.join(chunks, fan))) {
      if (!name.endsWith('.data') || name.startsWith('.')) continue
      const fd = fs.openSync(path.join(chunks, fan, name), 'r')
      try {
        if (fs.readSync(fd, head, 0, HEADER_SIZE, 0) !== HEADER_SIZE) throw new Error(`short object ${name}`)
      } finally {
        fs.closeSync(fd)
      }
      out.set(name.slice(0, -'.data'.length), head[5] as ObjectKind)
    }
  }
  return out
}

/** Last-use time (ms) of an object: the newer of its .data and .time mtimes; null without .data. */
export function lastUseMs(savedir: string, hash: string): number | null {
  const d = fs.statSync(dataPath(savedir, hash), { throwIfNoEntry: false })
  if (!d) return null
  const t = fs.statSync(timePath(savedir, hash), { throwIfNoEntry: false })
  return Math.max(d.mtimeMs, t?.mtimeMs ?? 0)
}

/** Moves the mtimes (and atimes) of every .data and .time file by `deltaMs` (negative: into the past). */
export function shiftObjectTimes(savedir: string, deltaMs: number): number {
  const chunks = path.join(savedir, 'chunks')
  let n = 0
  for (const fan of fs.readdirSync(chunks)) {
    for (const name of fs.readdirSync(path.join(chunks, fan))) {
      if (name.startsWith('.') || !(name.endsWith('.data') || name.endsWith('.time'))) continue
      const p = path.join(chunks, fan, name)
      const st = fs.statSync(p)
      const when = new Date(st.mtimeMs + deltaMs)
      fs.utimesSync(p, when, when)
      n++
    }
  }
  return n
}

/** Sets every .data and .time mtime to `when`. */
export function setObjectTimes(savedir: string, when: Date): void {
  const chunks = path.join(savedir, 'chunks')
  for (const fan of fs.readdirSync(chunks)) {
    for (const name of fs.readdirSync(path.join(chunks, fan))) {
      if (name.startsWith('.') || !(name.endsWith('.data') || name.endsWith('.time'))) continue
      fs.utimesSync(path.join(chunks, fan, name), when, when)
    }
  }
}

/** Opens the savedir's store with one worker, runs fn, always closes the store. */
export async function withStoreOf<T>(savedir: string, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
  const store = new ObjectStore(savedir, readConfig(savedir), { workers: 1 })
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

export interface Reachable {
  /** Trees, tree indexes and their parts. */
  trees: Set<string>
  /** File data chunks. */
  chunks: Set<string>
  /** Chunks per saved path ('/'-joined, without the leading '/'), regular files with chunks only. */
  fileChunks: Map<string, string[]>
}

/** Every object reachable from a saveset root (walking each distinct tree once). */
export async function reachableFrom(store: ObjectStore, rootHex: string): Promise<Reachable> {
  const out: Reachable = { trees: new Set(), chunks: new Set(), fileChunks: new Map() }
  const walk = async (hash: Buffer, dirPath: string): Promise<void> => {
    const hex = hash.toString('hex')
    out.trees.add(hex)
    for (const p of (await treeObjects(store, hash)).parts) out.trees.add(p.toString('hex'))
    for (const e of await readTree(store, hash)) {
      const p = dirPath ? `${dirPath}/${e.name.toString('latin1')}` : e.name.toString('latin1')
      if (e.type === EntryType.Dir && e.tree) await walk(e.tree, p)
      if (e.type === EntryType.File && e.chunks && e.chunks.length > 0) {
        const hs = e.chunks.map(c => c.hash.toString('hex'))
        for (const h of hs) out.chunks.add(h)
        out.fileChunks.set(p, hs)
      }
    }
  }
  await walk(Buffer.from(rootHex, 'hex'), '')
  return out
}

/** ms since the epoch, n hours ago, as whole seconds (exact through utimes). */
export function hoursAgoNs(h: number): bigint {
  return BigInt(Math.floor(Date.now() / 1000 - h * 3600)) * 1_000_000_000n
}

/** `tarshift restore -r SAVEDIR ID [PATH] | tar -xpf - -C OUT` (bash, pipefail): one exit status. */
export function restorePipe(savedir: string, id: string, outDir: string, restorePath?: string): { status: number | null; stderr: string } {
  fs.mkdirSync(outDir, { recursive: true })
  const script = 'env -u NODE_OPTIONS "$0" "$1" restore -r "$2" "$3" ${5:+"$5"} | tar -xpf - --xattrs "--xattrs-include=*" --numeric-owner -C "$4"'
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', script, process.execPath, TARSHIFT_BIN, savedir, id, outDir, restorePath ?? ''], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: childEnv({}),
    timeout: 300_000,
  })
  if (r.error) throw r.error
  return { status: r.status, stderr: r.stderr.toString() }
}

/**
 * Restore saveset `id` through GNU tar into `outDir` (emptied first) and compare it with the
 * source `src`, saved by absolute path: the restore succeeds, and the trees are the same.
 */
export function assertRestores(t: Test, savedir: string, id: string, src: string, outDir: string): void {
  fs.rmSync(outDir, { recursive: true, force: true })
  const r = restorePipe(savedir, id, outDir)
  t.equal(r.status, 0, `restore | tar -x: ${r.stderr}`)
  assertSameTree(t, src, path.join(outDir, src), { labels: ['source', 'restored'] })
}

/** The summary of saveset `id`, read from the savedir. */
export function summaryById(savedir: string, id: string): SavesetSummary {
  const s = listSummaries(savedir).find(x => x.id === id)
  if (!s) throw new Error(`no saveset ${id} in ${savedir}`)
  return s
}

/** Every object reachable from saveset `id`. */
export async function reachOf(savedir: string, id: string): Promise<Reachable> {
  return withStoreOf(savedir, store => reachableFrom(store, summaryById(savedir, id).root as string))
}

/** The chunks of the saved file at absolute path `file` in saveset `id` ([] when inline or absent). */
export async function chunksOfFile(savedir: string, id: string, file: string): Promise<string[]> {
  return (await reachOf(savedir, id)).fileChunks.get(file.replace(/^\/+/, '')) ?? []
}

/**
 * A few chunked files (several chunks each with a 256 KiB-average chunker) and small ones, all
 * with mtimes 5 hours old (not racy): the tree the cache and last-use tests save.
 */
export function chunkedAndSmallTree(): FixtureNode {
  const KiB = 1024
  const old = hoursAgoNs(5)
  const f = (size: number, seed: number): FixtureNode => ({ type: 'file', size, seed, mtimeNs: old })
  return {
    type: 'dir',
    mtimeNs: old,
    children: {
      big: { type: 'dir', mtimeNs: old, children: { 'keep1.bin': f(1500 * KiB, 1), 'keep2.bin': f(900 * KiB, 2), 'gone.bin': f(1200 * KiB, 3) } },
      small: { type: 'dir', mtimeNs: old, children: { 'a.txt': f(300, 4), 'b.txt': f(5000, 5), 'c.bin': f(40 * KiB, 6) } },
    },
  }
}
