/**
 * The repository is self-contained: nothing reads or cites a folder beside the clone (CI runs
 * from a clone with no siblings), and every comment that cites a section of docs/design.md or
 * docs/heroku-reference.md names a section that exists there.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..')

const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'build', '.git', 'fixtures', 'results'])
const TEXT_FILE = /\.(ts|js|cjs|mjs|c|sh|md|json|ya?ml)$|^[a-z-]+$/

/** The repository's own text files (scripts without an extension included), repo-relative. */
function repositoryFiles(dir = REPO): string[] {
  const files: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED_DIRS.has(entry.name)) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) files.push(...repositoryFiles(path))
    else if (entry.isFile() && TEXT_FILE.test(entry.name)) files.push(relative(REPO, path))
  }
  return files
}

/** Section numbers of a document: `## 4. …` is "4", `### 8.5 …` is "8.5", `### 10a. …` "10a". */
function sectionsOf(doc: string): Set<string> {
  const text = readFileSync(join(REPO, 'docs', doc), 'utf8')
  return new Set([...text.matchAll(/^#{2,4} (\d+[a-z]?(?:\.\d+)*)\.? /gm)].map((m) => m[1]!))
}

const DOCS = ['design.md', 'heroku-reference.md']
/** `docs/design.md §4`, `docs/heroku-reference.md §3, §4, §5.3`: the document and its sections. */
const CITATION = /(docs\/)?(design|heroku-reference)\.md((?:,? ?§\d+[a-z]?(?:\.\d+)*)*)/g

describe('the repository', () => {
  // This file names the documents without citing them.
  const files = repositoryFiles().filter(
    (f) => f !== relative(REPO, fileURLToPath(import.meta.url)),
  )

  test('reads and cites nothing in a folder beside the clone', () => {
    const outside = files.filter((f) =>
      /\.\.\/shared\b|['"]shared['"]|\bshared\/[\w-]+\.(md|json)/.test(
        readFileSync(join(REPO, f), 'utf8'),
      ),
    )
    assert.deepEqual(outside, [])
  })

  test("cites the design and Heroku reference by the repository's docs/ path", () => {
    const bare = files
      .filter((f) => !f.startsWith('docs/'))
      .flatMap((f) =>
        [...readFileSync(join(REPO, f), 'utf8').matchAll(CITATION)]
          .filter((m) => m[1] === undefined)
          .map((m) => `${f}: ${m[0]}`),
      )
    assert.deepEqual(bare, [])
  })

  test('every cited section exists in the document it cites', () => {
    const sections = Object.fromEntries(DOCS.map((d) => [d, sectionsOf(d)]))
    const missing: string[] = []
    let cited = 0
    for (const f of files) {
      for (const m of readFileSync(join(REPO, f), 'utf8').matchAll(CITATION)) {
        const doc = `${m[2]}.md`
        for (const [, number] of m[3]!.matchAll(/§(\d+[a-z]?(?:\.\d+)*)/g)) {
          cited++
          if (!sections[doc]!.has(number!)) missing.push(`${f}: ${doc} §${number}`)
        }
      }
    }
    assert.deepEqual(missing, [])
    assert.ok(cited > 50, `only ${cited} citations found: is the pattern still right?`)
  })
})
