// lib/cli owns argument parsing, one file per command, output formatting and exit codes.
// Commands are imported lazily so that `tarshift --help` starts instantly.
import { TarshiftError, UsageError } from '../errors.js'
import { EXIT_FATAL, EXIT_SIGNAL, exitCodeFor } from './exit-codes.js'
import { readFileSync } from 'node:fs'

export interface Command {
  summary: string
  usage: string
  run(argv: string[]): Promise<number>
}

const commands: Record<string, () => Promise<Command>> = {
  init: async () => (await import('./init-command.js')).default,
  save: async () => (await import('./save-command.js')).default,
  list: async () => (await import('./list-command.js')).default,
  ls: async () => (await import('./ls-command.js')).default,
  restore: async () => (await import('./restore-command.js')).default,
  cat: async () => (await import('./cat-command.js')).default,
  diff: async () => (await import('./diff-command.js')).default,
  info: async () => (await import('./info-command.js')).default,
  expire: async () => (await import('./expire-command.js')).default,
  check: async () => (await import('./check-command.js')).default,
  unlock: async () => (await import('./unlock-command.js')).default,
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function mainHelp(): string {
  return `tarshift ${version()}: deduplicating, compressing, hardlink-aware backups restored through tar

usage: tarshift COMMAND [options]

commands:
  init      create a savedir
  save      back up files into a savedir (find -print0 | tarshift save --null --files-from - ...)
  list      list savesets
  ls        list the files of a saveset
  restore   write a saveset (or part of it) as a tar stream to stdout
  cat       write one saved file to stdout
  diff      compare two savesets
  info      savedir totals, deduplication and compression ratios
  expire    remove old savesets and the objects only they used
  check     verify the savedir (structure; --read-data re-hashes every chunk)
  unlock    remove stale locks

common options: -r/--savedir DIR (or TARSHIFT_SAVEDIR), --help, --version, --debug
run 'tarshift COMMAND --help' for a command's options; documentation in doc/.
`
}

export async function main(argv: string[]): Promise<number> {
  // A reader that goes away (ls | head) is not a crash; commands that must know (restore)
  // watch their own stream and report it.
  process.stdout.on('error', (e: Error & { code?: string }) => {
    if (e.code !== 'EPIPE') throw e
  })
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp())
    return name === undefined ? EXIT_FATAL : 0
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`tarshift ${version()}\n`)
    return 0
  }
  const debug = rest.includes('--debug')
  try {
    const load = commands[name]
    if (!load) throw new UsageError(`unknown command "${name}"; see tarshift --help`)
    const cmd = await load()
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${cmd.summary}\n\n${cmd.usage}`)
      return 0
    }
    if (rest.includes('--version')) {
      process.stdout.write(`tarshift ${version()}\n`)
      return 0
    }
    if (name !== 'save') {
      // Any command but save (which writes a checkpoint first) stops at once: 130 (DESIGN.md §7).
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(EXIT_SIGNAL))
    }
    return await cmd.run(rest)
  } catch (e) {
    return reportError(e, debug)
  }
}

export function reportError(e: unknown, debug: boolean): number {
  if (e instanceof TarshiftError) {
    process.stderr.write(`tarshift: ${e.message}\n`)
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`)
    return exitCodeFor(e.code)
  }
  const err = e as Error & { code?: string; path?: string; syscall?: string }
  process.stderr.write(`tarshift: internal error: ${err?.message ?? String(e)}${err?.path ? ` (${err.path})` : ''}; please report it (run with --debug for details)\n`)
  if (debug && err?.stack) process.stderr.write(`${err.stack}\n`)
  return EXIT_FATAL
}
