// Buffered writes to the output stream (stdout) with backpressure: small pieces (headers,
// padding, inline files) are gathered into ~1 MiB batches; a batch waits for 'drain' when the
// stream is full. A closed pipe (the reader, e.g. tar, went away) ends the restore with an error.
import type { Writable } from 'node:stream'
import { TarshiftError } from '../errors.js'

/** Pieces at least this large are written without being gathered into a batch. */
const DIRECT = 256 * 1024

export class OutputSink {
  private parts: Buffer[] = []
  private size = 0
  private failed: Error | null = null
  bytes = 0

  constructor(private readonly out: Writable, private readonly batch = 1 << 20) {
    out.on('error', (e: Error & { code?: string }) => {
      this.failed = new TarshiftError('TARSHIFT_SAVEDIR_IO', e.code === 'EPIPE'
        ? 'the reader of the tar stream went away (broken pipe); the stream is incomplete'
        : `writing the tar stream failed: ${e.message}`)
    })
  }

  async write(b: Buffer): Promise<void> {
    if (b.length === 0) return
    if (b.length >= DIRECT) {
      // A large piece (a file's chunk) goes out as it is, after what was gathered before it:
      // copying it into a batch would cost a copy of most of the stream, and a fresh batch
      // buffer each time.
      await this.flush()
      this.bytes += b.length
      await this.send(b)
      return
    }
    this.parts.push(b)
    this.size += b.length
    this.bytes += b.length
    if (this.size >= this.batch) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.failed) throw this.failed
    if (this.parts.length === 0) return
    const data = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size)
    this.parts = []
    this.size = 0
    await this.send(data)
  }

  private async send(data: Buffer): Promise<void> {
    if (this.failed) throw this.failed
    if (!this.out.write(data)) {
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
    await new Promise<void>(resolve => this.out.write(Buffer.alloc(0), () => resolve()))
    if (this.failed) throw this.failed
  }
}
