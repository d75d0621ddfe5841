import { stableId } from './ids.js'

export interface DynoSize {
  id: string
  name: string
  /** Memory quota in MB; the runtime turns it into the dyno's memory limit. */
  memoryMb: number
  compute: number
  privateSpaceOnly: boolean
}

const size = (name: string, memoryMb: number, compute: number, privateSpaceOnly: boolean) => ({
  id: stableId('dyno-size', name),
  name,
  memoryMb,
  compute,
  privateSpaceOnly,
})

// docs/heroku-reference.md §8.3. Shield-* names are aliases the CLI rewrites to Private-*.
export const DYNO_SIZES: readonly DynoSize[] = [
  size('Private-S', 1024, 12, true),
  size('Private-M', 2560, 12, true),
  size('Private-L', 14336, 50, true),
  size('Private-L-RAM', 30720, 24, true),
  size('Private-XL', 63488, 50, true),
  size('Private-2XL', 129024, 100, true),
  size('Basic', 512, 1, false),
  size('Standard-1X', 512, 1, false),
  size('Standard-2X', 1024, 2, false),
  size('Performance-M', 2560, 12, false),
  size('Performance-L', 14336, 50, false),
]

export const DEFAULT_SPACE_SIZE = 'Private-S'
export const DEFAULT_COMMON_SIZE = 'Standard-1X'

/** Size names are matched case-insensitively (`ps:type web=private-l`); Shield-X means Private-X. */
export function findDynoSize(name: string): DynoSize | undefined {
  const wanted = name.toLowerCase().replace(/^shield-/, 'private-')
  return DYNO_SIZES.find((s) => s.name.toLowerCase() === wanted || s.id === name)
}
