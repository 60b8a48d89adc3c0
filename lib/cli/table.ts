// Plain text tables for terminal output: columns padded to their widest cell.

export function renderTable(head: string[], rows: string[][], rightAligned: number[] = []): string {
  const all = [head, ...rows]
  const widths = head.map((_, i) => Math.max(...all.map(r => (r[i] ?? '').length)))
  return all.map(r => r.map((c, i) => (rightAligned.includes(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd()).join('\n') + '\n'
}
