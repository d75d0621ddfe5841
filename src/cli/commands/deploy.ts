/**
 * `deploy [DIR] -a APP`: deploy from source the way Heroku's builds API does it. Packs DIR
 * into a gzipped tarball (leaving out .git and node_modules: the build installs dependencies
 * itself), asks for a source URL (POST /sources), uploads to its put_url, starts a build with
 * its get_url and prints the build output as it comes. Exits 1 when the build failed.
 */
import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { create as createTar } from 'tar'
import { p } from '../client.js'
import { act, UserError, withApp, type AppFlags, type CliDeps } from '../context.js'
import { printLogStream } from './logs.js'

interface Source {
  source_blob: { get_url: string; put_url: string }
}

interface Build {
  id: string
  status: 'pending' | 'succeeded' | 'failed'
  output_stream_url: string
  release: { id: string } | null
}

interface Release {
  version: number
}

/** What a deploy never sends: version control and installed dependencies. */
const SKIPPED = new Set(['.git', 'node_modules'])

/** DIR's contents as a gzipped tarball, paths relative to DIR (`tar czf - -C DIR .`). */
export async function packDirectory(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  const tarball = createTar(
    {
      gzip: true,
      cwd: dir,
      portable: true, // no user names or host-specific fields
      filter: (path) => !path.split('/').some((part) => SKIPPED.has(part)),
    },
    ['.'],
  )
  for await (const chunk of tarball) chunks.push(chunk)
  return Buffer.concat(chunks)
}

async function upload(url: string, body: Buffer): Promise<void> {
  let response: Response
  try {
    response = await fetch(url, { method: 'PUT', body })
  } catch (e) {
    throw new UserError(`Uploading the source failed (${(e as Error).message}).`)
  }
  if (response.ok) return
  const text = await response.text()
  let message = `Uploading the source failed: HTTP ${response.status}.`
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message
  } catch {
    // not JSON: keep the status message
  }
  throw new UserError(message)
}

export function registerDeployCommands(program: Command, deps: CliDeps): void {
  withApp(program.command('deploy [dir]'))
    .description('build and release the app in DIR (default: the current directory)')
    .option('--version <version>', 'a version label for the build (e.g. a commit hash)')
    .action(
      act(deps, async (dirArg: string | undefined, flags: AppFlags & { version?: string }) => {
        const dir = resolve(dirArg ?? '.')
        if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
          throw new UserError(`${dir} is not a directory.`)
        }
        const client = deps.client()
        const tarball = await packDirectory(dir)
        deps.out.line(`Packed ${dir} (${Math.ceil(tarball.length / 1024)} kB)`)
        const source = await client.post<Source>('/sources')
        await upload(source.source_blob.put_url, tarball)
        const build = await client.post<Build>(p`/apps/${flags.app}/builds`, {
          source_blob: {
            url: source.source_blob.get_url,
            ...(flags.version !== undefined && { version: flags.version }),
          },
        })
        await printLogStream(build.output_stream_url, deps.out.stdout)
        // The stream ends once the build has its outcome; a moment later if it was cut short.
        let done = await client.get<Build>(p`/apps/${flags.app}/builds/${build.id}`)
        for (let i = 0; done.status === 'pending' && i < 50; i++) {
          await deps.sleep(200)
          done = await client.get<Build>(p`/apps/${flags.app}/builds/${build.id}`)
        }
        if (done.status !== 'succeeded') throw new UserError(`Build ${done.status}.`)
        const release = done.release
          ? await client.get<Release>(p`/apps/${flags.app}/releases/${done.release.id}`)
          : undefined
        deps.out.line(`Deployed ${flags.app}${release ? ` as v${release.version}` : ''}`)
      }),
    )
}
