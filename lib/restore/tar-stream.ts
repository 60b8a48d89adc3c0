// The restore engine: walks a saveset and writes a tar stream. Chunk reads (decompression
// and verification in the store workers) run ahead of the writer within a bounded window,
// so reading, decompressing, verifying and writing overlap while memory stays bounded.
// Hardlinks: the first member of a group within what is restored carries the data, later
// ones are link members to it (DESIGN.md §2). Damaged data is never silent (DESIGN.md §7).
import { CorruptObjectError, MissingObjectError, TarshiftError } from '../errors.js'
import type { ObjectStore } from '../repo/object-store.js'
import { EntryType, isSlice, type ChunkRef, type Entry } from '../tree/entry.js'
import { pieceBytes, pieceOf } from '../tree/piece.js'
import { dataPath } from '../repo/layout.js'
import { encodeMember, END_OF_ARCHIVE, formatLosses, paddingFor, TarFormatError, type TarFormat, type TarMember } from './tar-header.js'
import { entryToMember } from './entry-to-member.js'
import type { OutputSink } from './output-sink.js'
import { showPath } from './show-path.js'
import type { WalkItem } from './saveset-walk.js'

export interface TarStreamOptions {
  format: TarFormat
  /** Drop this many leading components of each member name; shorter names are skipped. */
  stripComponents: number
  /** Put every member under this directory (bytes, no leading or trailing '/'). */
  prefix: Buffer | null
  stopOnError: boolean
  /** Bytes of chunks read ahead of the writer at most (default 16 MiB). */
  readAheadBytes?: number
  /** One line a problem (file named), to stderr. */
  report: (line: string) => void
}

export interface TarStreamResult {
  members: number
  bytes: number
  damaged: number
  /** Members left out because the chosen format cannot hold them (ustar), each named by report. */
  unrepresentable: number
}

/**
 * 16 MiB: with the reads in C on libuv's four threads, 64, 32 and 16 MiB restored corpora A and
 * B in the same time, cold and warm, to /dev/null and through tar -x, and 16 MiB held 55 (A) and
 * 50 MB (B) less (doc/performance.md, session 15).
 */
export const DEFAULT_READ_AHEAD_BYTES = 16 * 1024 * 1024
/** Chunks up to this size are fetched in batches (ObjectStore.getBatched); larger ones alone. */
const BATCHED_GET_MAX = 256 * 1024
/**
 * Objects read for slices and held at once, at most (beyond those the member being written
 * needs). A changed directory's unchanged small files are slices of one earlier tree part
 * each: one read serves them all.
 */
const SLICE_SOURCES_MAX = 8
const WRITTEN: Promise<Buffer> = Promise.resolve(Buffer.alloc(0))

/** An object read for the slices of it in the read-ahead window. */
interface Source {
  hash: Buffer
  hex: string
  data: Promise<Buffer>
  /** Its bytes once they have arrived. */
  bytes: Buffer | null
  /** Slices of it started and not yet written or dropped. */
  users: number
}

interface Job {
  item: WalkItem
  name: Buffer
  /** The chunks this member's data needs fetched, or null (inline, not a file, a later link). */
  refs: ChunkRef[] | null
  /** Fetches started so far, in order: chunks[0 .. started). */
  chunks: Array<Promise<Buffer>>
}

function rename(path: Buffer, opts: TarStreamOptions): Buffer | null {
  let p = path
  for (let i = 0; i < opts.stripComponents; i++) {
    const k = p.indexOf(0x2f)
    if (k < 0) return null
    p = p.subarray(k + 1)
  }
  if (p.length === 0) return null
  return opts.prefix ? Buffer.concat([opts.prefix, Buffer.from('/'), p]) : p
}

export async function writeTarStream(store: ObjectStore, items: AsyncIterable<WalkItem>, sink: OutputSink, opts: TarStreamOptions): Promise<TarStreamResult> {
  const result: TarStreamResult = { members: 0, bytes: 0, damaged: 0, unrepresentable: 0 }
  const READ_AHEAD_BYTES = opts.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES
  /** Hardlink group key → member name that carries the data. */
  const linkFirst = new Map<string, Buffer>()
  /** Groups whose data is being fetched ahead: later members must not fetch again. */
  const linkPlanned = new Set<string>()
  // The jobs read from the walk and not yet written: queue[head ..]. Jobs before `unstarted`
  // have every chunk fetch started (or need none), so pump() need not look at them again.
  const queue: Job[] = []
  let head = 0
  let unstarted = 0
  let ahead = 0
  const iter = items[Symbol.asyncIterator]()
  let exhausted = false
  const lossesSeen = new Set<string>()
  /** The job being written; it comes before every queued job in fetch order. */
  let current: Job | null = null

  /** Objects read for slices, each with the number of slices started and not yet written. */
  const sources = new Map<string, Source>()
  /** The last one asked for: a directory's files are slices of one object, one after another. */
  let lastSource: Source | null = null
  /** Sources let go so far; the slice found waiting for room (SLICE_SOURCES_MAX), and when. */
  let sourcesGone = 0
  let blocked: ChunkRef | null = null
  let blockedAt = -1

  /** The object a slice needs (read once for all its slices in the window), by name. */
  function sourceOf(c: ChunkRef): Source | undefined {
    if (lastSource !== null && lastSource.hash.equals(c.hash) && sources.get(lastSource.hex) === lastSource) return lastSource
    const source = sources.get(c.hash.toString('hex'))
    if (source !== undefined) lastSource = source
    return source
  }

  function sliceFetch(c: ChunkRef): Promise<Buffer> {
    let source = sourceOf(c)
    if (source === undefined) {
      const hex = c.hash.toString('hex')
      const data = store.getBatched(hex).then(r => r.data)
      data.catch(() => undefined)
      const s: Source = { hash: c.hash, hex, data, bytes: null, users: 0 }
      data.then(b => { s.bytes = b }, () => undefined)
      source = s
      sources.set(hex, source)
      lastSource = source
    }
    source.users++
    const hex = source.hex
    return source.data.then(data => pieceOf(store.savedir, hex, data, c))
  }

  /** The bytes of a job that is one slice, started, of an object that has arrived; else null. */
  function readySlice(job: Job): Buffer | null {
    const refs = job.refs
    if (refs === null || refs.length !== 1 || job.chunks.length !== 1) return null
    const c = refs[0] as ChunkRef
    if (!isSlice(c)) return null
    const bytes = sourceOf(c)?.bytes
    if (bytes == null) return null
    const piece = pieceBytes(bytes, c)
    return typeof piece === 'string' ? null : piece
  }

  /** A started fetch is written or dropped: a slice's object is let go after its last user. */
  function fetchDone(c: ChunkRef): void {
    if (!isSlice(c)) return
    const source = sourceOf(c)
    if (source !== undefined && --source.users === 0) {
      sources.delete(source.hex)
      sourcesGone++
    }
  }

  function startFetches(job: Job, force = false): void {
    const refs = job.refs
    if (!refs) return
    while (job.chunks.length < refs.length && (ahead < READ_AHEAD_BYTES || force)) {
      const c = refs[job.chunks.length] as ChunkRef
      if (isSlice(c)) {
        if (!force && sources.size >= SLICE_SOURCES_MAX) {
          // Asked again at every turn until a source goes: the answer only changes then.
          if (blocked === c && blockedAt === sourcesGone) return
          if (sourceOf(c) === undefined) {
            blocked = c
            blockedAt = sourcesGone
            return
          }
        }
        const p = sliceFetch(c)
        p.catch(() => undefined) // awaited in order by the writer
        job.chunks.push(p)
        ahead += c.length
        force = false
        continue
      }
      const hex = c.hash.toString('hex')
      // Into a slot of the ring shared with the store workers when it has room (no buffer
      // allocated, transferred and collected per chunk); given back once written.
      const p = store.getInto(hex, c.length, c.length <= BATCHED_GET_MAX) ?? (c.length <= BATCHED_GET_MAX ? store.getBatched(hex) : store.get(hex)).then(r => r.data)
      p.catch(() => undefined) // awaited in order by the writer
      job.chunks.push(p)
      ahead += c.length
      force = false
    }
  }

  /**
   * Start chunk reads in stream order while fewer than READ_AHEAD_BYTES are fetched and not yet
   * written: a large file's chunks are read a window at a time, never all at once.
   */
  function pump(): void {
    if (current) startFetches(current)
    if (unstarted < head) unstarted = head
    while (unstarted < queue.length && ahead < READ_AHEAD_BYTES) {
      const j = queue[unstarted] as Job
      startFetches(j)
      if (j.refs !== null && j.chunks.length < j.refs.length) return
      unstarted++
    }
  }

  function queued(): number {
    return queue.length - head
  }

  /** The next job to write, or undefined; the array is compacted now and then. */
  function nextJob(): Job | undefined {
    if (head === queue.length) return undefined
    const job = queue[head] as Job
    queue[head++] = undefined as unknown as Job
    if (head >= 4096 && head * 2 >= queue.length) {
      queue.splice(0, head)
      unstarted -= head
      head = 0
    }
    return job
  }

  async function fill(): Promise<void> {
    while (!exhausted && (ahead < READ_AHEAD_BYTES || queued() === 0) && queued() < 10000) {
      const n = await iter.next()
      if (n.done) {
        exhausted = true
        break
      }
      const name = rename(n.value.path, opts)
      if (name === null) continue
      const e = n.value.entry
      const key = e.link?.toString('latin1')
      const fetch = e.type === EntryType.File && e.chunks && e.chunks.length > 0 && !(key && linkPlanned.has(key))
      const job: Job = { item: n.value, name, refs: fetch ? (e.chunks as ChunkRef[]) : null, chunks: [] }
      if (fetch && key) linkPlanned.add(key)
      queue.push(job)
      pump()
    }
  }

  function damaged(path: Buffer, why: string): void {
    result.damaged++
    opts.report(`tarshift: error: /${showPath(path)}: ${why}`)
    if (opts.stopOnError) throw new TarshiftError('TARSHIFT_RESTORE_DAMAGED', `stopped at the first damaged file (/${showPath(path)}); the tar stream is incomplete`)
  }

  /** The member's header blocks, or null when the format cannot hold it: the member is left
   *  out, named on stderr, and the stream goes on (as GNU tar's "not dumped"). */
  function encodeOrSkip(job: Job, member: TarMember): Buffer | null {
    try {
      return encodeMember(member, opts.format)
    } catch (err) {
      if (!(err instanceof TarFormatError)) throw err
      result.unrepresentable++
      opts.report(`tarshift: error: /${showPath(job.item.path)}: --format ${opts.format} cannot hold ${err.what}; left out of the stream (use --format pax)`)
      if (opts.stopOnError) throw new TarshiftError('TARSHIFT_RESTORE_DAMAGED', `stopped at the first member --format ${opts.format} cannot hold (/${showPath(job.item.path)}); the tar stream is incomplete`)
      return null
    }
  }

  /** Drop a job's fetched-ahead chunks (the member is not written). */
  async function release(job: Job, key: string | undefined): Promise<void> {
    await dropFrom(job, 0)
    if (key) linkPlanned.delete(key)
  }

  /** Forget the started fetches from chunk `i` on (their bytes leave the window). */
  async function dropFrom(job: Job, i: number): Promise<void> {
    const refs = job.refs ?? []
    for (let k = i; k < job.chunks.length; k++) {
      ahead -= (refs[k] as ChunkRef).length
      fetchDone(refs[k] as ChunkRef)
    }
    for (const r of await Promise.allSettled(job.chunks.slice(i))) if (r.status === 'fulfilled') store.releaseChunk(r.value)
    job.refs = null
    job.chunks = []
  }

  async function emit(job: Job): Promise<void> {
    const e: Entry = job.item.entry
    const member = entryToMember(e, job.name)
    const key = e.link?.toString('latin1')
    if (e.type === EntryType.File && key !== undefined) {
      const first = linkFirst.get(key)
      if (first) {
        member.type = 'hardlink'
        member.size = 0
        member.linkname = first
        const header = encodeOrSkip(job, member)
        if (header === null) return
        await sink.write(header)
        result.members++
        return
      }
    }
    const header = encodeOrSkip(job, member)
    if (header === null) {
      await release(job, key)
      return
    }
    if (opts.format !== 'pax') {
      for (const l of formatLosses(member, opts.format)) {
        if (!lossesSeen.has(l)) {
          lossesSeen.add(l)
          opts.report(`tarshift: note: --format ${opts.format} cannot carry ${l}; use --format pax to keep it`)
        }
      }
    }
    // A file that is one slice of an object already read (most of a changed directory's small
    // files): its bytes at once, without waiting on a promise per file.
    const ready = readySlice(job)
    if (e.type === EntryType.File && e.chunks && ready === null) {
      // Check every chunk exists before the header: a missing one means the file is left out.
      // The fetches already started say so when they settle (and are needed next anyway); the
      // rest of a large file's chunks are looked for with a stat.
      pump()
      const settled = await Promise.allSettled(job.chunks)
      const fetchMissing = settled.findIndex(r => r.status === 'rejected' && r.reason instanceof MissingObjectError)
      const missing = fetchMissing >= 0 ? e.chunks[fetchMissing] : e.chunks.slice(job.chunks.length).find(c => !store.has(c.hash.toString('hex')))
      if (missing) {
        await release(job, key)
        damaged(job.item.path, `data object ${missing.hash.toString('hex')} is missing; file not restored`)
        return
      }
      if (job.refs === null) {
        // A hardlink group whose first member was left out (missing data, format): fetch here.
        job.refs = e.chunks
        job.chunks = []
      }
    }
    await sink.write(header)
    result.members++
    if (e.type !== EntryType.File) return
    if (key !== undefined) linkFirst.set(key, job.name)
    let written = 0
    if (e.data) {
      await sink.write(e.data)
      written = e.data.length
    } else if (e.chunks) {
      for (let i = 0; i < e.chunks.length; i++) {
        const ref = e.chunks[i] as ChunkRef
        let data: Buffer
        try {
          pump()
          if (i >= job.chunks.length) startFetches(job, true)
          data = ready ?? await (job.chunks[i] as Promise<Buffer>)
          if (data.length !== ref.length) {
            const hex = ref.hash.toString('hex')
            throw new CorruptObjectError(hex, dataPath(store.savedir, hex), `length ${data.length}, tree says ${ref.length}`)
          }
        } catch (err) {
          if (!(err instanceof CorruptObjectError || err instanceof MissingObjectError)) throw err
          await dropFrom(job, i)
          const rest = e.size - written
          // --stop-on-error: the member ends here, cut short, so that tar fails on it too.
          if (opts.stopOnError) damaged(job.item.path, `${err.message}; stopped at byte ${written} of the file`)
          await writeZeros(sink, rest)
          written += rest
          damaged(job.item.path, `${err.message}; the rest of the file (${rest} bytes) is zero-filled in the stream`)
          break
        }
        ahead -= ref.length
        fetchDone(ref)
        job.chunks[i] = WRITTEN // let the bytes go once written, not when the member ends
        pump()
        await sink.write(data, () => store.releaseChunk(data))
        written += data.length
      }
    }
    if (written !== e.size) {
      // The tree's size and its chunks disagree: keep the stream well-formed, and say so.
      if (written < e.size) await writeZeros(sink, e.size - written)
      else throw new TarshiftError('TARSHIFT_RESTORE_DAMAGED', `/${showPath(job.item.path)}: chunks hold more bytes than the recorded size`)
      damaged(job.item.path, 'stored data shorter than the recorded size; zero-filled')
    }
    await sink.write(ZERO_BLOCK.subarray(0, paddingFor(e.size)))
    result.bytes += e.size
  }

  try {
    for (;;) {
      await fill()
      const job = nextJob()
      if (!job) break
      current = job
      await emit(job)
      current = null
    }
  } catch (err) {
    // --stop-on-error: hand over everything written before the damaged member, so that what
    // precedes it restores whole (the batch in the sink would otherwise be lost).
    if (err instanceof TarshiftError && err.code === 'TARSHIFT_RESTORE_DAMAGED') await sink.end()
    throw err
  }
  await sink.write(END_OF_ARCHIVE)
  await sink.end()
  return result
}

/** Padding to the next 512-byte block: a view of one shared zero block, never written to. */
const ZERO_BLOCK = Buffer.alloc(512)

async function writeZeros(sink: OutputSink, n: number): Promise<void> {
  const block = Buffer.alloc(Math.min(n, 1 << 20))
  for (let left = n; left > 0; left -= block.length) await sink.write(left >= block.length ? block : block.subarray(0, left))
}
