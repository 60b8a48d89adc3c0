// Hardlink groups during one save: files with more than one link, keyed by (st_dev, st_ino).
// The first path met is the group's key; later members share its content reference and are
// never read again. Inode numbers are only used here, never at restore (DESIGN.md §2).
import type { FileStat } from '../fs/file-stat.js'
import type { FileContent } from './file-reader.js'

export interface LinkGroup {
  key: Buffer
  content: FileContent
  size: number
  stat: FileStat
  /** The first member was racy: so is every member (never reused next time). */
  racy: boolean
}

export class HardlinkIndex {
  private readonly groups = new Map<string, LinkGroup>()

  private static id(st: FileStat): string {
    return `${st.dev}:${st.ino}`
  }

  get(st: FileStat): LinkGroup | undefined {
    return st.nlink > 1 ? this.groups.get(HardlinkIndex.id(st)) : undefined
  }

  add(st: FileStat, g: LinkGroup): void {
    if (st.nlink > 1) this.groups.set(HardlinkIndex.id(st), g)
  }
}
