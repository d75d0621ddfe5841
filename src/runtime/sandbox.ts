/**
 * The command line of one dyno (design.md §5), as a pure function of what the dyno is and
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
 *   3. `sh` mounts the overlay (lower: the slug, upper/work: per dyno) in that private mount
 *      namespace, so the mount is invisible on the host and vanishes with the dyno's last
 *      process; it opens the environment file on fd 3 for bwrap;
 *   4. `setpriv` drops to the app's uid/gid, no supplementary groups, no capabilities, no new
 *      privileges; from here on nothing runs as root;
 *   5. `bwrap` (unprivileged, in a user namespace of its own that maps only that uid) makes new
 *      pid/ipc/uts/cgroup namespaces, a read-only view of the host root, private /tmp, /proc,
 *      /dev and /run, the overlay at /app, then clears the environment, sets the dyno's from
 *      fd 3 and runs the Procfile command with `/bin/sh -c`.
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
  /** The Procfile command, run as `/bin/sh -c <command>`. */
  command: string
  /** Config vars; PORT, DYNO, HOME and the HEROKU_* variables below override them. */
  configVars: Record<string, string>
  port: number
  privateIp: string
  /** Memory limit (the size's quota, core/sizes.ts `memoryMb`). No swap beyond it. */
  memoryMb: number
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
    upper: join(dynoDir, 'upper'),
    work: join(dynoDir, 'work'),
    app: join(dynoDir, 'app'),
  }
}

export const cgroupDir = (host: Pick<SandboxHost, 'cgroupRoot'>, dynoId: string): string =>
  join(host.cgroupRoot, dynoId)

/** The zone of discovery names (src/dns/zone.ts; the runtime may not import dns). */
const DNS_ZONE = 'app.localspace'
const DEFAULT_PATH = '/app/bin:/usr/local/bin:/usr/bin:/bin'

/**
 * The dyno's whole environment (heroku-reference.md §5.2): a default PATH, the config vars,
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
const MOUNT_APP = `mount -t overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" localspace-app "$4" || exit 125
env_args=$5
shift 5
exec "$@" 3<"$env_args"`

/** argv of the whole chain (steps 1–5); run it with LAUNCH_ENV. */
export function sandboxCommand(spec: DynoSpec, host: SandboxHost): string[] {
  checkSpec(spec)
  const p = dynoPaths(spec.dynoDir)
  const t = host.tools
  return [
    ...[t.sh, '-c', JOIN_CGROUP, 'localspace-join', join(cgroupDir(host, spec.id), 'cgroup.procs')],
    ...[t.ip, 'netns', 'exec', spec.netns],
    ...[t.sh, '-c', MOUNT_APP, 'localspace-mount', spec.slugDir, p.upper, p.work, p.app, p.envArgs],
    ...[t.setpriv, `--reuid=${spec.uid}`, `--regid=${spec.gid}`, '--clear-groups'],
    ...['--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--'],
    ...bwrapArgs(spec, host),
  ]
}

/** Step 5. Order matters: bwrap applies mounts in the order given. */
export function bwrapArgs(spec: DynoSpec, host: SandboxHost): string[] {
  const p = dynoPaths(spec.dynoDir)
  const args = [host.tools.bwrap, '--unshare-user', '--disable-userns']
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup')
  args.push('--hostname', spec.id)
  for (const e of host.rootEntries) {
    if (e.symlink !== undefined) args.push('--symlink', e.symlink, `/${e.name}`)
    else args.push('--ro-bind', `/${e.name}`, `/${e.name}`)
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/dev/shm')
  args.push('--tmpfs', '/tmp', '--tmpfs', '/run')
  if (host.rootEntries.some((e) => e.name === 'var' && e.symlink === undefined))
    args.push('--tmpfs', '/var/tmp')
  // Other dynos' directories and other apps' slugs: their parents are hidden by default.
  const parents = [dirname(spec.dynoDir), dirname(spec.slugDir)].filter((d) => d !== '/')
  for (const dir of new Set([...host.hide, ...parents])) args.push('--tmpfs', dir)
  args.push('--bind', p.app, '/app', '--chdir', '/app')
  // The root itself is bwrap's own tmpfs (the host's entries are mounted on it): make it
  // read-only too, or the app could create files at /.
  args.push('--remount-ro', '/')
  // --new-session: no access to a controlling terminal (TIOCSTI). --die-with-parent: if the
  // exit-status wrapper is killed, the dyno goes with it rather than running unwatched.
  args.push('--new-session', '--die-with-parent')
  args.push('--args', '3', '--', '/bin/sh', '-c', spec.command)
  return args
}

export class SandboxError extends Error {
  override name = 'SandboxError'
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/ // also the hostname: at most 64
const NETNS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
// Absolute, and nothing overlayfs option parsing or a shell word would trip over.
const SAFE_PATH = /^\/[A-Za-z0-9._/@+-]*$/

export function checkSpec(spec: DynoSpec): void {
  if (!ID.test(spec.id)) throw new SandboxError(`bad dyno id ${JSON.stringify(spec.id)}`)
  if (!NETNS.test(spec.netns)) throw new SandboxError(`bad netns ${JSON.stringify(spec.netns)}`)
  for (const [what, id] of [
    ['uid', spec.uid],
    ['gid', spec.gid],
  ] as const)
    if (!Number.isInteger(id) || id <= 0 || id >= 2 ** 32 - 1)
      throw new SandboxError(`${what} must be an unprivileged id, not ${id}`)
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535)
    throw new SandboxError(`bad port ${spec.port}`)
  if (!Number.isFinite(spec.memoryMb) || spec.memoryMb < 4)
    throw new SandboxError(`bad memory limit ${spec.memoryMb} MB`)
  for (const [what, path] of [
    ['slug dir', spec.slugDir],
    ['dyno dir', spec.dynoDir],
  ] as const)
    if (!SAFE_PATH.test(path) || path.includes('..') || path === '/')
      throw new SandboxError(`${what} must be a plain absolute path, not ${JSON.stringify(path)}`)
}
