// Reading one regular file: inline (small) or through the chunker into the store.
// The file is opened with O_NOATIME where permitted and O_NOFOLLOW; its fstat before and
// after reading tells whether it changed while read (then it is read once more).
import { closeSync, fstatSync, openSync, readSync, constants, type BigIntStats } from 'node:fs'
import { isSystemError } from '../errors.js'
import { StreamChunker } from '../chunker/stream-chunker.js'
import type { ChunkerParams } from '../chunker/fastcdc.js'
import type { ChunkRef } from '../tree/entry.js'
import type { PutWindow } from './put-window.js'
import { sameStat } from './entry-from-stat.js'
import { fileStatOf, type FileStat } from '../fs/file-stat.js'
import { native } from '../fs/native.js'

const READ_BLOCK = 4 * 1024 * 1024
/**
 * A file larger than this (the read-ahead's limit: lib/save/read-ahead.ts leaves larger ones to
 * the kernel's sequential read-ahead) of which no page is in the page cache when it is opened
 * has each block it was read in dropped from the cache once read (posix_fadvise DONTNEED of
 * exactly those pages, blocks being page-aligned). A backup reads each such file once: its pages
 * would only push out others' (restic issue #4465), and taking fresh pages for gigabytes costs
 * the kernel more than reusing the few just freed: corpus B's first save, 4 alternated cold runs
 * each, median 7.84 s without, 4.17 s with (doc/performance.md, session 18). A file with any
 * page cached is left alone: it is someone's (a database's, say), and dropping its pages is
 * what made restic take its fadvise out (restic issue #666).
 */
const DROP_OVER = 4 * 1024 * 1024
/** One read buffer, reused: the chunker copies every chunk out of it (no garbage per read). */
let readBuffer: Buffer | null = null
const O_NOATIME = (constants as Record<string, number>).O_NOATIME ?? 0
let noatimeAllowed = O_NOATIME !== 0

export type FileContent =
  | { kind: 'inline'; data: Buffer }
  | { kind: 'chunks'; chunks: Promise<ChunkRef[]> }
  | { kind: 'empty' }

export interface ReadOutcome {
  content: FileContent
  /** fstat of the file as read (its metadata goes into the entry). */
  stat: FileStat
  /** Bytes read in all attempts (for statistics). */
  bytesRead: number
  /** Length of the content recorded (the last attempt). */
  size: number
  /** The file kept changing while read: what was read is recorded, with a warning. */
  unstable: boolean
}

/** The save was asked to stop (a signal) in the middle of a file: what was read of it is let go. */
export class ReadStopped extends Error {
  constructor() {
    super('stopped while reading a file')
  }
}

export class SourceReadError extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
  }
}

function openNoAtime(path: Buffer): number {
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
  if (noatimeAllowed) {
    try {
      return openSync(path, flags | O_NOATIME)
    } catch (e) {
      // O_NOATIME is refused (EPERM) unless we own the file or are privileged.
      if (!isSystemError(e, 'EPERM')) throw e
    }
  }
  return openSync(path, flags)
}

function readFully(fd: number, buf: Buffer, pos: number): number {
  let got = 0
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, pos + got)
    if (n === 0) break
    got += n
  }
  return got
}

export interface ReaderContext {
  chunker: ChunkerParams
  window: PutWindow
  /** Buffers for chunks (ObjectStore.chunkBuffer); each goes to the window. Default: fresh ones. */
  chunkBuffer?: (n: number) => Buffer
  /**
   * True once the save is to stop (SIGINT, SIGTERM): asked after each block read of a chunked
   * file, which then throws ReadStopped instead of going on to its end (a file of 100 GB
   * would keep a signal waiting for minutes).
   */
  stop?: () => boolean
  /** The path to open for a source path (lib/fs/long-paths.ts: one too long is reached). Default: itself. */
  reach?: (path: Buffer) => Buffer
}

async function readOnce(fd: number, pre: BigIntStats, inlineMax: number, ctx: ReaderContext): Promise<{ content: FileContent; bytesRead: number }> {
  const size = Number(pre.size)
  if (size <= inlineMax) {
    // Into the shared read buffer (inline files are far smaller), then one exact copy.
    readBuffer ??= Buffer.allocUnsafeSlow(READ_BLOCK)
    const buf = size < READ_BLOCK ? readBuffer.subarray(0, size + 1) : Buffer.allocUnsafe(size + 1)
    const n = readFully(fd, buf, 0)
    if (n <= size) {
      if (n === 0) return { content: { kind: 'empty' }, bytesRead: 0 }
      return { content: { kind: 'inline', data: Buffer.from(buf.subarray(0, n)) }, bytesRead: n }
    }
    // Grew past what stat said: fall through to the chunked path.
  }
  const chunker = new StreamChunker(ctx.chunker, ctx.chunkBuffer)
  const refs: Promise<ChunkRef>[] = []
  // A large file none of whose pages were cached when opened leaves the page cache as it is
  // read: see DROP_OVER.
  const drop = size > DROP_OVER && !native.anyCached(fd, size)
  let pos = 0
  for (;;) {
    readBuffer ??= Buffer.allocUnsafeSlow(READ_BLOCK)
    const buf = readBuffer
    const n = readFully(fd, buf, pos)
    if (n === 0) break
    if (drop) native.dropCache(fd, pos, n)
    pos += n
    if (ctx.stop?.() === true) throw new ReadStopped()
    if (pos === n && n < buf.length && n < ctx.chunker.min) {
      // The whole file in one read, shorter than the smallest chunk: it is one chunk, handed
      // over as a view of the read buffer (put() copies it before it returns).
      await ctx.window.room()
      refs.push(ctx.window.submit(buf.subarray(0, n)))
      break
    }
    // A short read is the end of the file: the chunker cuts its tail without holding it. Each
    // chunk's buffer is taken only once the window has room for it (StreamChunker.pieces).
    const pieces = n === buf.length ? chunker.pieces(buf, false) : chunker.pieces(buf.subarray(0, n), true)
    for (;;) {
      await ctx.window.room()
      const c = pieces.next()
      if (c.done === true) break
      refs.push(ctx.window.submit(c.value))
    }
    if (n < buf.length) break
  }
  if (chunker.pendingBytes > 0) {
    await ctx.window.room()
    refs.push(ctx.window.submit(chunker.finish() as Buffer))
  }
  if (pos === 0) return { content: { kind: 'empty' }, bytesRead: 0 }
  const chunks = Promise.all(refs)
  chunks.catch(() => undefined) // the window records the failure; awaited at the directory's end
  return { content: { kind: 'chunks', chunks }, bytesRead: pos }
}

/**
 * Read a regular file. Throws SourceReadError for problems with the source (vanished,
 * permission denied, replaced by another type); savedir errors propagate as they are.
 */
export async function readSourceFile(path: Buffer, inlineMax: number, ctx: ReaderContext): Promise<ReadOutcome> {
  let fd: number
  try {
    fd = openNoAtime(ctx.reach?.(path) ?? path)
  } catch (e) {
    if (isSystemError(e, 'ENOENT', 'ENOTDIR')) throw new SourceReadError(e.code as string, 'vanished before it could be read')
    if (isSystemError(e, 'ELOOP')) throw new SourceReadError('ELOOP', 'replaced by a symlink while saving')
    if (isSystemError(e)) throw new SourceReadError((e as { code: string }).code, `cannot open: ${(e as Error).message}`)
    throw e
  }
  try {
    let bytesRead = 0
    for (let attempt = 0; ; attempt++) {
      const pre = fstatSync(fd, { bigint: true })
      if (!pre.isFile()) throw new SourceReadError('EINVAL', 'no longer a regular file')
      let r: { content: FileContent; bytesRead: number }
      try {
        r = await readOnce(fd, pre, inlineMax, ctx)
      } catch (e) {
        if (isSystemError(e, 'EIO', 'EACCES', 'EISDIR')) throw new SourceReadError(e.code as string, `read failed: ${e.message}`)
        throw e
      }
      bytesRead += r.bytesRead
      const post = fstatSync(fd, { bigint: true })
      const stable = sameStat(pre, post) && Number(post.size) === r.bytesRead
      if (stable || attempt >= 1) return { content: r.content, stat: fileStatOf(post), bytesRead, size: r.bytesRead, unstable: !stable }
    }
  } finally {
    closeSync(fd)
  }
}
