/**
 * strongswan.conf of one space's charon, pure. Rendered by us (never Debian's
 * /etc/strongswan.conf, which charon reads only when STRONGSWAN_CONF does not point here), so
 * what charon loads is exactly this:
 *
 * - an explicit plugin list (`load_modular = no`): what PSK site-to-site needs and nothing
 *   that could open sockets or read files we did not ask for;
 * - `kernel-libipsec` before `kernel-netlink` only where the kernel has no ESP
 *   (kernel-esp.ts): the first IPsec backend loaded wins, so listed first it does ESP in
 *   userspace (a TUN device `ipsec0`, routes in table 220, always UDP 4500) while
 *   kernel-netlink still does addresses and routes;
 * - the vici socket in the space's directory (the charon's own /run is private to it).
 */
import { renderSettings } from '../core/settings-text.js'

export interface StrongswanConfOptions {
  /** Absolute path of the vici Unix socket. */
  viciSocket: string
  /** False: ESP in userspace (kernel-libipsec). */
  kernelEsp: boolean
  /** charon's own log file (opened by charon, appended, flushed per line). */
  logFile: string
}

const CRYPTO = ['random', 'nonce', 'openssl', 'aes', 'sha1', 'sha2', 'hmac', 'gmp', 'kdf']

export function strongswanPlugins(kernelEsp: boolean): string[] {
  return [
    ...CRYPTO,
    ...(kernelEsp ? [] : ['kernel-libipsec']),
    'kernel-netlink',
    'socket-default',
    'vici',
  ]
}

export function renderStrongswanConf(o: StrongswanConfOptions): string {
  return renderSettings(
    {
      charon: {
        load_modular: 'no',
        load: strongswanPlugins(o.kernelEsp).join(' '),
        // Routes to the remote networks (table 220), so traffic from the space finds the SA.
        install_routes: 'yes',
        install_virtual_ip: 'no',
        plugins: { vici: { socket: `unix://${o.viciSocket}` } },
        // A log file of its own in the space's directory, flushed per line (stdout into a
        // file is block-buffered: a killed charon would take its last words with it); syslog
        // would mix every space's charon with the host's.
        syslog: { daemon: { default: '-1' } },
        filelog: {
          charon: {
            path: o.logFile,
            default: '1',
            time_format: '%FT%T',
            flush_line: 'yes',
            append: 'yes',
          },
        },
      },
    },
    'strongswan.conf of one space charon, rendered by localspace: edits are overwritten',
  )
}
