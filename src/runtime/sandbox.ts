/**
 * The command line of one dyno (docs/design.md §5), as a pure function of what the dyno is and
 * where things are on the host. Nothing here touches the host; dyno-process.ts prepares the
 * directories and the cgroup, then starts this command detached.
 *
 * The command is a chain of small steps, each `exec`ing the next, so one process (one pid)
 * goes from root on the host to the app inside its sandbox:
 *
 *   1. `sh` joins the dyno's memory cgroup (writes its own pid to cgroup.procs), so everything
 *      after it, the app included, is limited from its first instruction;
 *   2. `ip netns exec <ns>` enters the dyno's network namespace in a private mount namespace,
 *      bind-mounting /etc/netns/<ns>/resolv.conf over /etc/resolv.conf;
 *   3. `sh` mounts the dyno's writable layer, a tmpfs of `appLayerMb` (see below), and the
 *      overlay on it (lower: the slug, upper/work: in that tmpfs) in that private mount
 *      namespace, so the mount is invisible on the host and vanishes with the dyno's last
 *      process; it opens the environment file on fd 3 for bwrap;
 *   4. `setpriv` drops to the app's uid/gid, no supplementary groups, no capabilities, no new
 *      privileges; from here on nothing runs as root;
 *   5. `bwrap` (unprivileged, in a user namespace of its own that maps only that uid) makes new
 *      pid/ipc/uts/cgroup namespaces, a read-only view of the host root, private /tmp, /proc,
 *      /dev and /run, the overlay at /app, then clears the environment, sets the dyno's from
 *      fd 3 and runs the Procfile command with `/bin/bash -c` (PROCFILE_SHELL).
 *
 * Why the uid switch comes before bwrap: bwrap run by root keeps uid 0 (with --unshare-user it
 * maps the sandbox uid onto root). Switching first also means no root process ever runs with
 * the app's environment, where a config var such as LD_PRELOAD=/app/x.so would otherwise be
 * loaded by a root binary.
 *
 * Why the environment goes through a file on fd 3 (`bwrap --args 3`) and not `--setenv` on the
 * command line: /proc/<pid>/cmdline is readable by every user on the host, and config vars are
 * secrets.
 */
import { dirname, join } from 'node:path'

/** The Procfile world: what the dyno is. */
export interface DynoSpec {
  /** Names the cgroup and the sandbox's hostname; letters, digits, `.`, `_`, `-`. */
  id: string
  appId: string
  appName: string
  processType: string
  /** The dyno number: `web.1` is type web, number 1. */
  number: number
  releaseVersion: number
  /** The Procfile command, run as `/bin/bash -c <command>`. */
  command: string
  /** Config vars; PORT, DYNO, HOME and the HEROKU_* variables below override them. */
  configVars: Record<string, string>
  port: number
  privateIp: string
  /** Memory limit (the size's quota, core/sizes.ts `memoryMb`). No swap beyond it. */
  memoryMb: number
  /** What the dyno may write to /app, in MB; `appLayerMb(memoryMb)` when absent. */
  appLayerMb?: number
  /** The app's unprivileged uid and gid (never 0). */
  uid: number
  gid: number
  /** Network namespace made by src/network attach (`/run/netns/<netns>`). */
  netns: string
  /** The unpacked slug; read-only lower layer of /app. */
  slugDir: string
  /** Per-dyno directory on the host (see dynoPaths); its parent is hidden from the dyno. */
  dynoDir: string
  /**
   * A FIFO the process reads stdin from (one-off dynos attached to a client; the caller holds
   * its write end open, see exec/detached.ts `openFifoWriter`); /dev/null when absent.
   */
  stdinFifo?: string
}

/** One entry of the host's `/`: a directory or file to bind read-only, or a symlink to copy. */
export interface RootEntry {
  name: string
  symlink?: string
}

/** Where things are on the host. */
export interface SandboxHost {
  /** cgroup v1 memory directory that holds one directory per dyno. */
  cgroupRoot: string
  /** Entries of `/` the dyno sees read-only (see host-root.ts for the default choice). */
  rootEntries: readonly RootEntry[]
  /** Host directories replaced by an empty tmpfs inside the dyno (other dynos' files). */
  hide: readonly string[]
  tools: { sh: string; ip: string; mount: string; setpriv: string; bwrap: string }
}

export const DEFAULT_TOOLS: SandboxHost['tools'] = {
  sh: '/bin/sh',
  ip: '/usr/sbin/ip',
  mount: '/usr/bin/mount',
  setpriv: '/usr/bin/setpriv',
  bwrap: '/usr/bin/bwrap',
}

/** Files and directories of one dyno, all inside its dynoDir. */
export interface DynoPaths {
  dir: string
  /** runtime metadata (dyno-process.ts), written before the process starts */
  meta: string
  /** the detached-process record (exec/detached.ts) */
  record: string
  /** alone in its directory, so watching it is not woken by log writes */
  status: string
  stdout: string
  stderr: string
  /** NUL-separated bwrap arguments that set the environment; root-only (0600) */
  envArgs: string
  /** mount point of the writable layer (a tmpfs inside the dyno only; empty on the host) */
  rw: string
  /** the overlay's upper and work directories, inside `rw` */
  upper: string
  work: string
  /** mount point of the overlay, bound to /app */
  app: string
}

export function dynoPaths(dynoDir: string): DynoPaths {
  return {
    dir: dynoDir,
    meta: join(dynoDir, 'dyno.json'),
    record: join(dynoDir, 'process.json'),
    status: join(dynoDir, 'status', 'exit'),
    stdout: join(dynoDir, 'stdout.log'),
    stderr: join(dynoDir, 'stderr.log'),
    envArgs: join(dynoDir, 'env.args'),
    rw: join(dynoDir, 'rw'),
    upper: join(dynoDir, 'rw', 'upper'),
    work: join(dynoDir, 'rw', 'work'),
    app: join(dynoDir, 'app'),
  }
}

export const cgroupDir = (host: Pick<SandboxHost, 'cgroupRoot'>, dynoId: string): string =>
  join(host.cgroupRoot, dynoId)

/**
 * What runs a Procfile command, as on Heroku: bash, which execs a simple command (`node
 * server.js`) instead of waiting for it. dash keeps its `sh` as the app's parent, and that `sh`
 * dies of the stop's SIGTERM at once: the sandbox then ends and takes the app with it before
 * the app's own SIGTERM handler has run — no grace period at all.
 */
export const PROCFILE_SHELL = '/bin/bash'

/** The zone of discovery names (src/dns/zone.ts; the runtime may not import dns). */
const DNS_ZONE = 'app.localspace'
const DEFAULT_PATH = '/app/bin:/usr/local/bin:/usr/bin:/bin'

/**
 * The dyno's whole environment (docs/heroku-reference.md §5.2): a default PATH, the config vars,
 * then what the platform sets, which config vars cannot override.
 */
export function dynoEnv(spec: DynoSpec): Record<string, string> {
  const formation = `${spec.processType}.${spec.appName}.${DNS_ZONE}`
  return {
    PATH: DEFAULT_PATH,
    LANG: 'C.UTF-8',
    ...spec.configVars,
    HOME: '/app',
    PORT: String(spec.port),
    DYNO: `${spec.processType}.${spec.number}`,
    HEROKU_PRIVATE_IP: spec.privateIp,
    HEROKU_DNS_FORMATION_NAME: formation,
    HEROKU_DNS_DYNO_NAME: `${spec.number}.${formation}`,
    HEROKU_DNS_APP_NAME: `${spec.appName}.${DNS_ZONE}`,
    HEROKU_APP_NAME: spec.appName,
    HEROKU_APP_ID: spec.appId,
    HEROKU_RELEASE_VERSION: `v${spec.releaseVersion}`,
  }
}

/** The contents of the env file: `--clearenv` then one `--setenv NAME VALUE` per variable. */
export function envArgsFile(env: Record<string, string>): string {
  const args = ['--clearenv']
  for (const [name, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SandboxError(`bad env name ${name}`)
    if (value.includes('\0')) throw new SandboxError(`env ${name} contains a NUL byte`)
    args.push('--setenv', name, value)
  }
  return args.map((a) => `${a}\0`).join('')
}

/** The environment of the root steps (1–4): a fixed PATH and nothing else. */
export const LAUNCH_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
}

// Step 1: `$1` is cgroup.procs; `$$` of this sh is the pid every later step keeps.
const JOIN_CGROUP = 'echo $$ >"$1" && shift && exec "$@"'
// Step 3: overlay options are comma/colon separated, so paths are checked for both below.
// Exit 125 (as `env`/`timeout` do) marks a failure of the platform, not of the app.
// The writable layer first: a tmpfs of $2 bytes at $3 holding the upper directory (owned by
// the app, $4 is uid:gid: the overlay's root takes its owner) and the work directory.
const MOUNT_APP = `mount -t tmpfs -o "size=$2,mode=0700" localspace-app-rw "$3" || exit 125
mkdir -m 0755 "$3/upper" && chown "$4" "$3/upper" && mkdir -m 0700 "$3/work" || exit 125
mount -t overlay -o "lowerdir=$1,upperdir=$3/upper,workdir=$3/work" localspace-app "$5" || exit 125
env_args=$6
shift 6
exec "$@" 3<"$env_args"`

/**
 * The most a dyno may write to /app, in MB: half its memory quota. The dyno's changes to /app
 * live in a tmpfs (issue 15 B4: before, in the host's data directory, without a bound, so one
 * dyno could fill the host's disk). A tmpfs is memory, and the kernel counts its pages
 * against the dyno's memory cgroup like the dyno's own; with half for files, a dyno that fills
 * /app gets ENOSPC from its writes while its processes keep the other half, instead of an
 * R15 kill. Heroku's dyno filesystem is ephemeral too (gone with the dyno), as this one is.
 */
export const appLayerMb = (memoryMb: number): number => Math.max(1, Math.floor(memoryMb / 2))

/** argv of the whole chain (steps 1–5); run it with LAUNCH_ENV. */
export function sandboxCommand(spec: DynoSpec, host: SandboxHost): string[] {
  checkSpec(spec)
  const p = dynoPaths(spec.dynoDir)
  const t = host.tools
  return [
    ...joinCgroup(host, spec.id),
    ...[t.ip, 'netns', 'exec', spec.netns],
    ...[t.sh, '-c', MOUNT_APP, 'localspace-mount', spec.slugDir, String(appLayerBytes(spec))],
    ...[p.rw, `${spec.uid}:${spec.gid}`, p.app, p.envArgs],
    ...dropPrivileges(host, spec.uid, spec.gid),
    ...bwrapArgs(spec, host),
  ]
}

const appLayerBytes = (spec: DynoSpec): number =>
  (spec.appLayerMb ?? appLayerMb(spec.memoryMb)) * 1024 * 1024

/** Step 1: the rest of the chain runs in the memory cgroup named `id`. */
function joinCgroup(host: SandboxHost, id: string): string[] {
  return [
    host.tools.sh,
    '-c',
    JOIN_CGROUP,
    'localspace-join',
    join(cgroupDir(host, id), 'cgroup.procs'),
  ]
}

/** Step 4: the app's uid and gid, no supplementary groups, no capabilities, no new privileges. */
function dropPrivileges(host: SandboxHost, uid: number, gid: number): string[] {
  return [
    ...[host.tools.setpriv, `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'],
    ...['--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--'],
  ]
}

/** What one bwrap sandbox holds beyond the host's read-only root (step 5). */
interface SandboxView {
  /** The sandbox's hostname. */
  hostname: string
  /** Host directories replaced by an empty tmpfs inside. */
  hide: readonly string[]
  /** Host directories mounted writable inside, in this order. */
  binds: ReadonlyArray<{ from: string; to: string }>
  chdir: string
  /** What runs; its environment comes from the NUL-separated arguments on fd 3 (`--args 3`). */
  argv: readonly string[]
}

/** Step 5 for a dyno. */
export function bwrapArgs(spec: DynoSpec, host: SandboxHost): string[] {
  const p = dynoPaths(spec.dynoDir)
  // Other dynos' directories and other apps' slugs: their parents are hidden by default.
  const parents = [dirname(spec.dynoDir), dirname(spec.slugDir)].filter((d) => d !== '/')
  return bwrapCommand(
    {
      hostname: spec.id,
      hide: [...host.hide, ...parents],
      binds: [{ from: p.app, to: '/app' }],
      chdir: '/app',
      argv: [PROCFILE_SHELL, '-c', spec.command],
    },
    host,
  )
}

/** bwrap's command line for a view. Order matters: bwrap applies mounts in the order given. */
function bwrapCommand(view: SandboxView, host: SandboxHost): string[] {
  const args = [host.tools.bwrap, '--unshare-user', '--disable-userns']
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup')
  args.push('--hostname', view.hostname)
  for (const e of host.rootEntries) {
    if (e.symlink !== undefined) args.push('--symlink', e.symlink, `/${e.name}`)
    else args.push('--ro-bind', `/${e.name}`, `/${e.name}`)
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/dev/shm')
  args.push('--tmpfs', '/tmp', '--tmpfs', '/run', '--tmpfs', '/var/tmp')
  for (const dir of new Set(view.hide)) args.push('--tmpfs', dir)
  for (const b of view.binds) args.push('--bind', b.from, b.to)
  args.push('--chdir', view.chdir)
  // The root itself is bwrap's own tmpfs (the host's entries are mounted on it): make it
  // read-only too, or the app could create files at /.
  args.push('--remount-ro', '/')
  // --new-session: no access to a controlling terminal (TIOCSTI). --die-with-parent: if the
  // process that started bwrap is killed, the sandbox goes with it rather than running unwatched.
  args.push('--new-session', '--die-with-parent')
  args.push('--args', '3', '--', ...view.argv)
  return args
}

/** Where a build's commands see the app being built (as on a dyno) and their HOME. */
export const BUILD_APP_DIR = '/app'
export const BUILD_HOME_DIR = '/tmp/build-home'

/** One build command, sandboxed like a dyno (docs/design.md §5; issue: builds run sandboxed). */
export interface BuildSandboxSpec {
  /** Names the cgroup and the sandbox's hostname, as a dyno id does. */
  id: string
  /** The app's unprivileged uid and gid: a build is the app's, like its dynos. */
  uid: number
  gid: number
  /** The build's network namespace on the space bridge; none: the host's network. */
  netns: string | undefined
  /** Host directories bound writable at BUILD_APP_DIR and BUILD_HOME_DIR. */
  appDir: string
  homeDir: string
  /** Where the command starts, inside. */
  cwd: string
  argv: readonly string[]
}

/**
 * argv of one build command: the cgroup, the build's network namespace (so it leaves through
 * the space's outbound addresses), the app's uid, then bwrap with the app and home bound
 * writable. The environment goes in on fd 3 (envArgsFile), as for a dyno. Run with LAUNCH_ENV.
 */
export function buildCommand(spec: BuildSandboxSpec, host: SandboxHost): string[] {
  checkIds(spec.id, spec.uid, spec.gid)
  if (spec.netns !== undefined && !NETNS.test(spec.netns))
    throw new SandboxError(`bad netns ${JSON.stringify(spec.netns)}`)
  return [
    ...joinCgroup(host, spec.id),
    ...(spec.netns === undefined ? [] : [host.tools.ip, 'netns', 'exec', spec.netns]),
    ...dropPrivileges(host, spec.uid, spec.gid),
    ...bwrapCommand(
      {
        hostname: spec.id,
        // Other builds' work directories are under the host's /tmp, which is the sandbox's own.
        hide: host.hide,
        binds: [
          { from: spec.appDir, to: BUILD_APP_DIR },
          { from: spec.homeDir, to: BUILD_HOME_DIR },
        ],
        chdir: spec.cwd,
        argv: spec.argv,
      },
      host,
    ),
  ]
}

export class SandboxError extends Error {
  override name = 'SandboxError'
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/ // also the hostname: at most 64
const NETNS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
// Absolute, and nothing overlayfs option parsing or a shell word would trip over.
const SAFE_PATH = /^\/[A-Za-z0-9._/@+-]*$/

function checkIds(id: string, uid: number, gid: number): void {
  if (!ID.test(id)) throw new SandboxError(`bad sandbox id ${JSON.stringify(id)}`)
  for (const [what, n] of [
    ['uid', uid],
    ['gid', gid],
  ] as const)
    if (!Number.isInteger(n) || n <= 0 || n >= 2 ** 32 - 1)
      throw new SandboxError(`${what} must be an unprivileged id, not ${n}`)
}

export function checkSpec(spec: DynoSpec): void {
  checkIds(spec.id, spec.uid, spec.gid)
  if (!NETNS.test(spec.netns)) throw new SandboxError(`bad netns ${JSON.stringify(spec.netns)}`)
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535)
    throw new SandboxError(`bad port ${spec.port}`)
  if (!Number.isFinite(spec.memoryMb) || spec.memoryMb < 4)
    throw new SandboxError(`bad memory limit ${spec.memoryMb} MB`)
  if (spec.appLayerMb !== undefined && !(Number.isInteger(spec.appLayerMb) && spec.appLayerMb >= 1))
    throw new SandboxError(`bad /app size ${spec.appLayerMb} MB`)
  for (const [what, path] of [
    ['slug dir', spec.slugDir],
    ['dyno dir', spec.dynoDir],
  ] as const)
    if (!SAFE_PATH.test(path) || path.includes('..') || path === '/')
      throw new SandboxError(`${what} must be a plain absolute path, not ${JSON.stringify(path)}`)
}
