// The racy-file window (git's rule, DESIGN.md §3): a file whose mtime is this close to a
// save's start may change again within the same timestamp unseen, so it is never reused
// unread by the next save; and the next save's read-ahead reads files changed since this far
// before the newest reference's start.
export const RACY_NS = 2_000_000_000n
