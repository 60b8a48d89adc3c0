// Zero-filled memory for tar headers, carved out of shared 1 MiB slabs: a restore of
// /usr/share writes ~70,000 header buffers, and one ArrayBuffer each (Buffer.alloc does not
// pool) kept the main thread's garbage collector busy. A slab is freed when no view into it is
// left. The views go to the output only, never to another thread (posting a view would clone
// its whole slab). A slab is zero-filled when made and never used twice, so no piece needs
// filling (a fill per header was 4% of a restore's main thread).
const SLAB = 1 << 20

let slab = Buffer.alloc(SLAB)
let used = 0

/** `n` zero bytes of their own (a fresh buffer when n is over a quarter of a slab). */
export function zeroed(n: number): Buffer {
  if (n > SLAB / 4) return Buffer.alloc(n)
  if (used + n > SLAB) {
    slab = Buffer.alloc(SLAB)
    used = 0
  }
  const b = slab.subarray(used, used + n)
  used += (n + 7) & ~7
  return b
}
