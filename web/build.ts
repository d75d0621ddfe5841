/**
 * Builds the dashboard (`npm run build` runs this after tsc): web/src → dist/web, which the
 * daemon serves (src/api/routes/dashboard.routes.ts). esbuild bundles and minifies in well
 * under a second; the topology picture and its layout library are a separate chunk, loaded
 * when a space page first needs them. File names carry a content hash; index.html names them.
 *
 *   node --import tsx web/build.ts [outDir]
 */
import { build } from 'esbuild'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const WEB = dirname(fileURLToPath(import.meta.url))
export const PUBLIC_PATH = '/localspace/dashboard/'

/** Builds into `outDir` and returns the names of the files the first page load fetches. */
export async function buildDashboard(outDir: string): Promise<{ firstLoad: string[] }> {
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const result = await build({
    entryPoints: { main: join(WEB, 'src', 'main.tsx') },
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    chunkNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    publicPath: PUBLIC_PATH,
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  })
  const outputs = result.metafile.outputs
  const main = Object.keys(outputs).find(
    (p) => outputs[p]!.entryPoint?.endsWith('main.tsx') && p.endsWith('.js'),
  )!
  const css = outputs[main]!.cssBundle
  // What the page loads before it can draw: the page, the entry, its static imports, the CSS.
  const firstLoad = new Set<string>([basename(main)])
  for (const imp of outputs[main]!.imports) {
    if (imp.kind === 'import-statement') firstLoad.add(basename(imp.path))
  }
  if (css) firstLoad.add(basename(css))
  const template = readFileSync(join(WEB, 'index.html'), 'utf8')
  const html = template
    .replace('%CSS%', css ? `<link rel="stylesheet" href="${PUBLIC_PATH}${basename(css)}">` : '')
    .replace('%MAIN%', `<script type="module" src="${PUBLIC_PATH}${basename(main)}"></script>`)
  writeFileSync(join(outDir, 'index.html'), html)
  return { firstLoad: ['index.html', ...firstLoad] }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? join(WEB, '..', 'dist', 'web')
  await buildDashboard(outDir)
}
