// Buffered writes to the output stream (stdout) with backpressure. Pieces (headers, padding,
// inline files, chunks) are gathered, never copied, and handed over ~1 MiB at a time in one
// vectored write: with writev(2) straight on the file descriptor when stdout is a file or
// /dev/null (Node's stream for those writes piece by piece, synchronously), otherwise through
// the stream, corked, so that a pipe or socket gets them in one writev as well. A closed pipe
// (the reader, e.g. tar, went away) ends the restore with an error.
//
// The pieces used to be concatenated into a fresh 1 MiB buffer per batch: that copy, with the
// page faults of the fresh buffers, was a third of the main thread of a restore of /usr/share.
import { fstatSync, writevSync } from 'node:fs'
import { isatty } from 'node:tty'
import type { Writable } from 'node:stream'
import { TarshiftError, isSystemError } from '../errors.js'
import { native } from '../fs/native.js'

/** At most this many pieces go to one writev (Linux's IOV_MAX is 1024). */
const MAX_PIECES = 1024

function outputFailed(e: { code?: string; message: string }): TarshiftError {
  return new TarshiftError('TARSHIFT_SAVEDIR_IO', e.code === 'EPIPE'
    ? 'the reader of the tar stream went away (broken pipe); the stream is incomplete'
    : `writing the tar stream failed: ${e.message}`)
}

/**
 * The descriptor behind `out`, unless it is a terminal or there is none: whether writes may be
 * made on it directly and synchronously (a regular file, or a character device such as
 * /dev/null), and whether it is a pipe. Pipes, sockets and terminals go through the stream:
 * Node may have made them non-blocking.
 */
function outputDescriptor(out: Writable): { fd: number; direct: boolean; pipe: boolean } | null {
  const fd = (out as Writable & { fd?: unknown }).fd
  if (typeof fd !== 'number' || isatty(fd)) return null
  try {
    const st = fstatSync(fd)
    return { fd, direct: st.isFile() || st.isCharacterDevice(), pipe: st.isFIFO() }
  } catch {
    return null // not a usable descriptor: the stream will say what is wrong
  }
}

export class OutputSink {
  private parts: Buffer[] = []
  /** Called once the parts gathered so far are handed to the OS (their buffers may be reused). */
  private dones: Array<() => void> = []
  private size = 0
  private failed: Error | null = null
  private fd: number | null
  bytes = 0

  constructor(private readonly out: Writable, private readonly batch = 1 << 20) {
    const o = outputDescriptor(out)
    // A pipe is made to hold a batch where the system allows: Node writes into a pipe on Linux
    // synchronously, so with the default 64 KiB the restore stopped 16 times a batch until the
    // reader had taken the last piece (a restore of 2 GB of large files into `tar -x`, cold:
    // 7.6-8.1 s with 64 KiB, 5.9-6.6 s with 1 MiB; doc/performance.md, session 19).
    if (o?.pipe) native.growPipe(o.fd, batch)
    this.fd = o?.direct ? o.fd : null
    out.on('error', (e: Error & { code?: string }) => {
      this.failed = outputFailed(e)
    })
  }

  /** Write `b`; `done` is called once it has been handed to the OS and may be reused. */
  async write(b: Buffer, done?: () => void): Promise<void> {
    if (done !== undefined) this.dones.push(done)
    if (b.length === 0) return
    this.parts.push(b)
    this.size += b.length
    this.bytes += b.length
    if (this.size >= this.batch || this.parts.length >= MAX_PIECES) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.failed) throw this.failed
    const parts = this.parts
    const dones = this.dones
    this.parts = []
    this.dones = []
    this.size = 0
    const rest = this.fd === null || parts.length === 0 ? parts : this.writeDirect(this.fd, parts)
    if (rest.length > 0) await this.send(rest, dones)
    else for (const d of dones) d()
  }

  /** writev until done; returns what is left to the stream if the descriptor would block. */
  private writeDirect(fd: number, parts: Buffer[]): Buffer[] {
    let i = 0
    while (i < parts.length) {
      let n: number
      try {
        n = writevSync(fd, i === 0 ? parts : parts.slice(i))
      } catch (e) {
        if (isSystemError(e, 'EAGAIN')) {
          this.fd = null // made non-blocking by someone else: the stream handles it from now on
          return parts.slice(i)
        }
        if (isSystemError(e, 'EINTR')) continue
        throw outputFailed(e as Error & { code?: string })
      }
      // A short write: skip what went out, cut the first piece not written whole.
      while (i < parts.length && n >= (parts[i] as Buffer).length) n -= (parts[i++] as Buffer).length
      if (n > 0) parts[i] = (parts[i] as Buffer).subarray(n)
    }
    return []
  }

  private async send(parts: Buffer[], dones: Array<() => void>): Promise<void> {
    if (this.failed) throw this.failed
    let ok = true
    this.out.cork()
    // The stream calls back in order, once each piece is written: the last one's callback
    // says that all of them are.
    parts.forEach((p, i) => { ok = i < parts.length - 1 || dones.length === 0 ? this.out.write(p) : this.out.write(p, () => { for (const d of dones) d() }) })
    this.out.uncork()
    if (!ok) {
      await new Promise<void>(resolve => {
        const done = (): void => {
          this.out.off('drain', done)
          this.out.off('error', done)
          resolve()
        }
        this.out.on('drain', done)
        this.out.on('error', done)
      })
    }
    if (this.failed) throw this.failed
  }

  /** Flush and wait until everything has been handed to the OS. */
  async end(): Promise<void> {
    await this.flush()
    if (this.fd === null) await new Promise<void>(resolve => this.out.write(Buffer.alloc(0), () => resolve()))
    if (this.failed) throw this.failed
  }
}
