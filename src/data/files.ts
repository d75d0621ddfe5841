/** File helpers shared by the engines: directories and files owned by the data user. */
import { chown, mkdir, stat, writeFile } from 'node:fs/promises'
import type { EngineContext } from './engine.js'
import { makeServerCertificate } from './tls.js'

export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )

/** A directory owned by the data user, mode 0700. */
export async function ownedDir(path: string, ctx: Pick<EngineContext, 'user'>): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 })
  await chown(path, ctx.user.uid, ctx.user.gid)
}

/** A file owned by the data user, mode 0600. */
export async function writeOwned(
  path: string,
  text: string,
  ctx: Pick<EngineContext, 'user'>,
): Promise<void> {
  await writeFile(path, text, { mode: 0o600 })
  await chown(path, ctx.user.uid, ctx.user.gid)
}

/**
 * What every engine needs: the root-only secrets directory and the server user's directory
 * with its certificate (made once: clients may have pinned it).
 */
export async function prepareCommon(ctx: EngineContext): Promise<void> {
  await mkdir(ctx.layout.secrets, { recursive: true, mode: 0o700 })
  await ownedDir(ctx.layout.server, ctx)
  if (!(await exists(ctx.layout.key)))
    await makeServerCertificate(ctx.exec, ctx.layout, ctx.spec.address, ctx.user)
}
