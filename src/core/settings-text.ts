/**
 * strongSwan's settings syntax (strongswan.conf(5), swanctl.conf(5)): nested `name { … }`
 * sections and `key = value` lines. Both config files we write are rendered through this one
 * function from plain trees.
 *
 * Values run to the end of the line in that syntax, so a newline, `{`, `}` or `#` in a value
 * could open sections or hide settings: every name and value is checked against a conservative
 * character set (what addresses, CIDR lists, proposals, paths and our pre-shared keys use) and
 * anything else is refused, never escaped.
 */

export type SettingsTree = { [name: string]: string | SettingsTree }

const NAME = /^[A-Za-z0-9_.-]{1,64}$/
const VALUE = /^[A-Za-z0-9_.,:/@%+= -]*$/

export class SettingsValueError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SettingsValueError'
  }
}

export function renderSettings(tree: SettingsTree, header?: string): string {
  const lines: string[] = header === undefined ? [] : header.split('\n').map((l) => `# ${l}`)
  write(tree, 0, lines)
  return lines.join('\n') + '\n'
}

function write(tree: SettingsTree, depth: number, lines: string[]): void {
  const indent = '  '.repeat(depth)
  for (const [name, value] of Object.entries(tree)) {
    if (!NAME.test(name))
      throw new SettingsValueError(`unsafe setting name ${JSON.stringify(name)}`)
    if (typeof value === 'string') {
      if (!VALUE.test(value))
        throw new SettingsValueError(`unsafe value for ${name}: ${JSON.stringify(value)}`)
      lines.push(`${indent}${name} = ${value}`)
    } else {
      lines.push(`${indent}${name} {`)
      write(value, depth + 1, lines)
      lines.push(`${indent}}`)
    }
  }
}
