/**
 * What a Node child process of localspace's own code needs to start the way this process did:
 * its entry file, found beside the module that starts it, and the flags that load code. Used
 * for the exec runner (runner.ts) and for worker processes (node-workers.ts).
 */
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The file `name` in the directory of the module at `moduleUrl` (its `import.meta.url`), with
 * that module's extension: `.ts` when run from source under tsx, `.js` once built.
 */
export function entryBeside(moduleUrl: string, name: string): string {
  return fileURLToPath(new URL(`./${name}${extname(fileURLToPath(moduleUrl))}`, moduleUrl))
}

/**
 * The flags that load code (`--import tsx`, `-r x`), not others (`--test`, `--inspect`, which
 * would make a child a test runner or fight over the debugger port).
 */
export function loaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!
    if (/^--(import|require|loader|experimental-loader)=/.test(a)) out.push(a)
    else if (
      /^(--import|--require|-r|--loader|--experimental-loader)$/.test(a) &&
      i + 1 < execArgv.length
    ) {
      out.push(a, execArgv[++i]!)
    }
  }
  return out
}
