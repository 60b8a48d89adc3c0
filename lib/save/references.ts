// Reference savesets for an incremental save (backshift's rule, DESIGN.md §3): up to three
// distinct earlier savesets of the same (host, subset): the most recent (finished or not),
// the most recent finished one with more than one file, and the one with the most files (the
// latest of those with as many).
// Pure: summaries in, chosen summaries out.
import type { SavesetSummary } from '../repo/saveset.js'

export function chooseReferences(all: readonly SavesetSummary[], host: string, subset: string): SavesetSummary[] {
  const mine = all.filter(s => s.host === host && s.subset === subset && s.root !== null)
  const byStart = [...mine].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
  const chosen: SavesetSummary[] = []
  const add = (s: SavesetSummary | undefined): void => {
    if (s && !chosen.some(c => c.id === s.id)) chosen.push(s)
  }
  add(byStart[byStart.length - 1])
  add([...byStart].reverse().find(s => s.finish !== null && s.files > 1))
  // Among savesets with as many files, the latest: nearer to the tree as it is now, and most
  // often the reference chosen above already (one reference's trees to compare, not two).
  let most: SavesetSummary | undefined
  for (const s of byStart) if (!most || s.files >= most.files) most = s
  add(most)
  return chosen
}
