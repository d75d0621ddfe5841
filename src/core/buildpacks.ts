/**
 * The buildpacks an app may choose (`heroku buildpacks:set`). localspace runs no buildpacks:
 * a choice selects one of its own detections (builds/detect.ts), in the order given. A
 * buildpack is named as Heroku's CLI names it (`heroku/nodejs`), by its registry URN, by its
 * source repository, or by a URL of its published archive (`…/buildpacks/heroku/nodejs.tgz`,
 * what the CLI sends after asking the buildpack registry); nothing is ever fetched from them.
 */
export type BuildKind = 'Node.js' | 'Python' | 'Procfile'

export interface KnownBuildpack {
  /** The registry name, as `heroku buildpacks` shows it. */
  name: string
  kind: BuildKind
  /** Its source repository on GitHub, under `heroku/`. */
  repository: string
}

export const KNOWN_BUILDPACKS: readonly KnownBuildpack[] = [
  { name: 'heroku/nodejs', kind: 'Node.js', repository: 'heroku-buildpack-nodejs' },
  { name: 'heroku/python', kind: 'Python', repository: 'heroku-buildpack-python' },
  { name: 'heroku/procfile', kind: 'Procfile', repository: 'procfile-cnb' },
]

/** The most buildpacks an app may list (Heroku's limit is 8 as well). */
export const MAX_BUILDPACKS = 8

/** The buildpack a name or URL stands for, or undefined when localspace does not know it. */
export function knownBuildpack(nameOrUrl: string): KnownBuildpack | undefined {
  const text = nameOrUrl.trim().replace(/^urn:buildpack:/, '')
  return KNOWN_BUILDPACKS.find((b) => {
    if (text === b.name) return true
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return false
    }
    if (url.protocol !== 'https:') return false
    const path = url.pathname.replace(/\.git$/, '').replace(/\/$/, '')
    return (
      (url.hostname === 'github.com' && path === `/heroku/${b.repository}`) ||
      path.endsWith(`/buildpacks/${b.name}.tgz`)
    )
  })
}

/** The 422 message for a buildpack localspace cannot honour. */
export const unknownBuildpackMessage = (nameOrUrl: string): string =>
  `localspace does not run buildpacks and has no equivalent of ${JSON.stringify(nameOrUrl)}. Choose from ${KNOWN_BUILDPACKS.map((b) => b.name).join(', ')}, or clear the buildpacks to detect the app type.`
