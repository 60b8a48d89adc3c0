// lib/restore/tar-format-error.ts owns the one error of the tar header encoder: a member that the
// chosen tar format cannot hold exactly. ustar refuses rather than truncating a name or an owner,
// because a restore that silently writes a different name loses data.

export class TarFormatError extends Error {
  readonly code = 'TARSHIFT_TAR_UNREPRESENTABLE'
  /** The member name, escaped for display (see show-path.ts). */
  readonly path: string
  /** What the format cannot hold, e.g. "a name of 312 bytes". */
  readonly what: string

  constructor(format: string, path: string, what: string, hint: string) {
    super(`${format} format cannot hold ${path}: ${what}; ${hint}`)
    this.name = 'TarFormatError'
    this.path = path
    this.what = what
  }
}
