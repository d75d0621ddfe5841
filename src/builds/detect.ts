/**
 * Detection, as buildpacks do it (docs/design.md §5): look at the app's files and decide which
 * commands build it and which process types it has.
 *
 * - Node.js (`package.json`): `npm ci` with a lockfile, else `npm install`; `npm run build`
 *   when the script exists; `web: npm start` unless the Procfile says otherwise.
 * - Python (`requirements.txt`): a virtualenv in the slug at `.heroku/python` (where Heroku's
 *   buildpack puts Python), `pip install -r requirements.txt`, and `bin/python`, `bin/python3`
 *   and `bin/pip` that run it; `/app/bin` comes first on a dyno's PATH.
 * - Anything else with a Procfile: no build commands; its commands use the host's runtimes.
 *
 * An app that chose buildpacks (`heroku buildpacks:set`, core/buildpacks.ts) gets exactly
 * those, in order, and a build that does not fit one of them fails, as on Heroku.
 */
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import type { BuildKind } from '../core/buildpacks.js'
import type { ProcessTypes } from '../core/types.js'
import { hasAppFile, readAppFile } from './app-files.js'
import { parseProcfile } from './procfile.js'

export interface PlanStep {
  /** Printed as `-----> <label>` before the command runs. */
  label: string
  argv: string[]
  /** Added to the build environment of this step. */
  env?: Record<string, string>
}

export interface BuildPlan {
  /** Shown in the output and kept as the slug's buildpack_provided_description. */
  name: string
  steps: PlanStep[]
  processTypes: ProcessTypes
  /** Printed, not fatal. */
  warnings: string[]
}

/** Nothing to build: the message says what was looked for. */
export class DetectError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DetectError'
  }
}

/** Where Python goes inside the slug; the same place as on Heroku. */
export const PYTHON_HOME = '.heroku/python'

/**
 * Runs after `pip install`: `bin/python`, `bin/python3` and `bin/pip` that run the
 * virtualenv's (`/app/bin` comes first on a dyno's PATH). Builds run at /app, as the slug does,
 * so the virtualenv's own paths are right as they are.
 */
const LINK_PYTHON = `set -e
venv=${PYTHON_HOME}
mkdir -p bin
for name in python python3 pip; do
  [ -e "bin/$name" ] && continue
  [ -e "$venv/bin/$name" ] || continue
  printf '#!/bin/sh\\nexec "$(dirname "$0")/../${PYTHON_HOME}/bin/%s" "$@"\\n' "$name" >"bin/$name"
  chmod 755 "bin/$name"
done`

async function procfileOf(dir: string): Promise<ProcessTypes | undefined> {
  const text = await readAppFile(dir, 'Procfile')
  return text === undefined ? undefined : parseProcfile(text)
}

async function nodePlan(dir: string, procfile: ProcessTypes | undefined): Promise<BuildPlan> {
  let pkg: { scripts?: Record<string, unknown> }
  try {
    pkg = JSON.parse((await readAppFile(dir, 'package.json')) ?? '') as typeof pkg
  } catch {
    throw new DetectError('package.json is not valid JSON.')
  }
  const locked =
    (await hasAppFile(dir, 'package-lock.json')) || (await hasAppFile(dir, 'npm-shrinkwrap.json'))
  const steps: PlanStep[] = [
    locked
      ? { label: 'Installing dependencies (npm ci)', argv: ['npm', 'ci'] }
      : { label: 'Installing dependencies (npm install)', argv: ['npm', 'install'] },
  ]
  if (typeof pkg.scripts?.build === 'string') {
    steps.push({ label: 'Running build (npm run build)', argv: ['npm', 'run', 'build'] })
  }
  return {
    name: 'Node.js',
    steps,
    processTypes: { web: 'npm start', ...procfile },
    warnings: [],
  }
}

/** Whether requirements.txt names anything (not only blank lines and comments). */
const hasRequirements = (text: string) =>
  text.split(/\r?\n/).some((line) => line.replace(/#.*/, '').trim() !== '')

async function pythonPlan(dir: string, procfile: ProcessTypes | undefined): Promise<BuildPlan> {
  // Relative to the app directory, where every step starts.
  const python = `./${PYTHON_HOME}/bin/python3`
  // Nothing to install: no pip in the virtualenv either, which saves seconds per build.
  const install = hasRequirements((await readAppFile(dir, 'requirements.txt')) ?? '')
  const steps: PlanStep[] = install
    ? [
        {
          label: `Creating a virtualenv in ${PYTHON_HOME}`,
          argv: ['python3', '-m', 'venv', PYTHON_HOME],
        },
        {
          label: 'Installing requirements with pip',
          argv: [
            python,
            '-m',
            'pip',
            'install',
            '--disable-pip-version-check',
            '--no-input',
          ].concat(['-r', 'requirements.txt']),
        },
      ]
    : [
        {
          label: `Creating a virtualenv in ${PYTHON_HOME} (requirements.txt lists nothing)`,
          argv: ['python3', '-m', 'venv', '--without-pip', PYTHON_HOME],
        },
      ]
  return {
    name: 'Python',
    steps: [
      ...steps,
      {
        label: 'Linking python, python3 and pip into bin/',
        argv: ['/bin/sh', '-c', LINK_PYTHON],
      },
    ],
    processTypes: { ...procfile },
    warnings: procfile ? [] : ['No Procfile: this app declares no process types (add one).'],
  }
}

/** The program a Procfile command starts, when it can be told: `node` in `node server.js`. */
function programOf(command: string): string | undefined {
  const words = command.trim().split(/\s+/)
  // Leading `NAME=value` assignments are environment, not the program.
  const word = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w))
  return word && /^[\w./+-]+$/.test(word) ? word : undefined
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Warns about Procfile commands whose program is neither in the app nor on the host. */
async function missingPrograms(
  dir: string,
  types: ProcessTypes,
  hostPath: string,
): Promise<string[]> {
  const warnings: string[] = []
  for (const [type, command] of Object.entries(types)) {
    const program = programOf(command)
    if (!program) continue
    const candidates = program.includes('/')
      ? [join(dir, program.replace(/^\/app\//, ''))]
      : [join(dir, 'bin'), ...hostPath.split(':')].map((d) => join(d, program))
    let found = false
    for (const c of candidates) if (!found && (await executable(c))) found = true
    if (!found) warnings.push(`Process type ${type}: ${program} was not found on this host.`)
  }
  return warnings
}

/** What each kind needs to find in the app, for the message when it is missing. */
const NEEDS: Record<BuildKind, string> = {
  'Node.js': 'package.json',
  Python: 'requirements.txt',
  Procfile: 'Procfile',
}

/** The plan of one kind, or undefined when the app lacks the file the kind needs. */
async function planOf(
  kind: BuildKind,
  dir: string,
  procfile: ProcessTypes | undefined,
  hostPath: string,
): Promise<BuildPlan | undefined> {
  if (kind === 'Procfile') {
    if (!procfile) return undefined
    return {
      name: 'Procfile',
      steps: [],
      processTypes: procfile,
      warnings: await missingPrograms(dir, procfile, hostPath),
    }
  }
  if (!(await hasAppFile(dir, NEEDS[kind]))) return undefined
  return kind === 'Node.js' ? nodePlan(dir, procfile) : pythonPlan(dir, procfile)
}

/**
 * Decides how to build the app in `dir`: the first kind that fits, or exactly the `chosen`
 * ones (the app's buildpacks), one after another. Throws DetectError when nothing fits.
 */
export async function detect(
  dir: string,
  hostPath: string,
  chosen: readonly BuildKind[] = [],
): Promise<BuildPlan> {
  const procfile = await procfileOf(dir)
  if (chosen.length === 0) {
    for (const kind of ['Node.js', 'Python', 'Procfile'] as const) {
      const plan = await planOf(kind, dir, procfile, hostPath)
      if (plan) return plan
    }
    throw new DetectError(
      'No Procfile and no app type detected: add a Procfile, a package.json (Node.js) or a requirements.txt (Python).',
    )
  }
  const plans: BuildPlan[] = []
  for (const kind of chosen) {
    const plan = await planOf(kind, dir, procfile, hostPath)
    if (!plan) {
      throw new DetectError(
        `The app's buildpacks include ${kind}, but it has no ${NEEDS[kind]}: add one, or change the buildpacks (heroku buildpacks).`,
      )
    }
    plans.push(plan)
  }
  // Several: their steps in order; later ones' process types win, the Procfile's over all.
  return {
    name: plans.map((p) => p.name).join(', '),
    steps: plans.flatMap((p) => p.steps),
    processTypes: Object.assign({}, ...plans.map((p) => p.processTypes)) as ProcessTypes,
    warnings: [...new Set(plans.flatMap((p) => p.warnings))],
  }
}
