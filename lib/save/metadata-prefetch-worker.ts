// The metadata prefetcher's thread: walks the directories the save is about to walk, in the
// same order, doing only what brings their metadata into the kernel's caches (readdir and
// lstat), so that the save's own calls on the main thread find them there instead of waiting
// for the disk or the network. It stays at most LOOKAHEAD entries ahead of the save, whose
// progress it reads from shared memory; what it does has no effect but speed.
import { parentPort, workerData } from 'node:worker_threads'
import { lstatSync, readdirSync } from 'node:fs'
import { Excluder } from './exclude.js'
import { joinPath } from './source-paths.js'

export interface PrefetchWorkerData {
  /** [0]: entries the save has looked at; [1]: 1 once the save is over. */
  shared: SharedArrayBuffer
  exclude: string[]
  oneFileSystem: boolean
  lookahead: number
  /** Post each directory listed back to the parent (tests). */
  report: boolean
}

export interface PrefetchRequest {
  /** A directory where a recursive walk starts. */
  dir: Uint8Array
}

const data = workerData as PrefetchWorkerData
const progress = new Int32Array(data.shared)
const excluder = new Excluder(data.exclude)
let seen = 0
const queue: Buffer[] = []
let running = false

/** Wait while this thread is more than the lookahead ahead of the save; false once it is over. */
function mayGoOn(): boolean {
  for (;;) {
    if (Atomics.load(progress, 1) !== 0) return false
    const theirs = Atomics.load(progress, 0)
    if (seen - theirs <= data.lookahead) return true
    Atomics.wait(progress, 0, theirs, 50)
  }
}

function walk(dir: Buffer, dev: number | null): boolean {
  let names: Buffer[]
  try {
    names = readdirSync(dir, { encoding: 'buffer' })
  } catch {
    return true
  }
  names.sort(Buffer.compare)
  if (data.report) parentPort?.postMessage({ listed: new Uint8Array(dir), seen })
  for (const name of names) {
    if (!mayGoOn()) return false
    seen++
    const path = joinPath(dir, name)
    if (excluder.excludes(path, name)) continue
    let st
    try {
      st = lstatSync(path)
    } catch {
      continue
    }
    if (!st.isDirectory()) continue
    if (data.oneFileSystem && dev !== null && st.dev !== dev) continue
    if (!walk(path, dev ?? st.dev)) return false
  }
  return true
}

function drain(): void {
  running = true
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    let dev: number | null = null
    try {
      dev = lstatSync(d).dev
    } catch {
      continue
    }
    if (!walk(d, dev)) break
  }
  running = false
}

parentPort?.on('message', (req: PrefetchRequest) => {
  queue.push(Buffer.from(req.dir.buffer, req.dir.byteOffset, req.dir.byteLength))
  if (!running) drain()
})
