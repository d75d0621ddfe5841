/**
 * `localspace vpn:config NAME --space S --format swanctl`: a whole swanctl.conf for a
 * strongSwan customer gateway, from nothing but what `spaces:vpn:config` prints. Pure, so
 * the same function serves the CLI and tests, and the host side's own renderer can be checked
 * against it.
 *
 * The customer's side of each tunnel: local = the customer gateway (`customer_ip`) with the
 * routable CIDRs behind it; remote = our tunnel address (`ip`) with the space's network.
 */

/** The fields of a `vpn-connection` (the API's JSON) that a gateway needs. */
export interface VpnConfigView {
  name: string
  space_cidr_block: string
  routable_cidrs: readonly string[]
  ike_version: number
  tunnels: ReadonlyArray<{ ip: string; customer_ip: string; pre_shared_key: string }>
}

/**
 * IKE and ESP proposals, strongest-compatible first as AWS offers them: IKEv1 main mode with
 * AES-128/SHA-1/DH 2048 (the default), DH 1024 for old gateways, and AES-256/SHA-256.
 */
export const VPN_PROPOSALS = [
  'aes128-sha1-modp2048',
  'aes128-sha1-modp1024',
  'aes256-sha256-modp2048',
]
/** Dead peer detection: probe after 10 s of silence, restart the tunnel when the peer is gone. */
export const VPN_DPD_DELAY = '10s'

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/
const PSK = /^[A-Za-z0-9._]{1,128}$/
const NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/

/**
 * What goes into the file is checked first: the values come over the network, and a value
 * with a brace, quote or newline in it could change what the gateway is configured to do.
 */
function checkView(view: VpnConfigView): void {
  const bad = (what: string, value: unknown) => {
    throw new Error(`cannot render swanctl.conf: ${what} ${JSON.stringify(value)} is not valid`)
  }
  if (!NAME.test(view.name)) bad('name', view.name)
  if (view.ike_version !== 1 && view.ike_version !== 2) bad('ike_version', view.ike_version)
  for (const c of [view.space_cidr_block, ...view.routable_cidrs]) if (!CIDR.test(c)) bad('CIDR', c)
  if (view.routable_cidrs.length === 0) bad('routable_cidrs', view.routable_cidrs)
  if (view.tunnels.length === 0) bad('tunnels', view.tunnels)
  for (const t of view.tunnels) {
    if (!IPV4.test(t.ip)) bad('tunnel ip', t.ip)
    if (!IPV4.test(t.customer_ip)) bad('customer_ip', t.customer_ip)
    if (!PSK.test(t.pre_shared_key)) bad('pre_shared_key', '…')
  }
}

/** The swanctl.conf text (connections and secrets) for the customer gateway. */
export function renderCustomerSwanctl(view: VpnConfigView): string {
  checkView(view)
  const proposals = VPN_PROPOSALS.join(',')
  const local = view.routable_cidrs.join(',')
  const lines: string[] = [
    `# swanctl.conf for the customer gateway of VPN connection ${view.name}.`,
    '# Both tunnels carry the same networks: when one is down, traffic takes the other.',
    '# Install as /etc/swanctl/conf.d/<name>.conf, then: swanctl --load-all',
    'connections {',
  ]
  const secrets: string[] = ['secrets {']
  view.tunnels.forEach((t, i) => {
    const id = `${view.name}-tunnel-${i + 1}`
    lines.push(
      `  ${id} {`,
      `    version = ${view.ike_version}`,
      // IKEv1: main mode (never aggressive, which sends the PSK hash in the clear).
      ...(view.ike_version === 1 ? ['    aggressive = no'] : []),
      `    local_addrs = ${t.customer_ip}`,
      `    remote_addrs = ${t.ip}`,
      `    proposals = ${proposals}`,
      `    dpd_delay = ${VPN_DPD_DELAY}`,
      '    rekey_time = 8h',
      '    local {',
      '      auth = psk',
      `      id = ${t.customer_ip}`,
      '    }',
      '    remote {',
      '      auth = psk',
      `      id = ${t.ip}`,
      '    }',
      '    children {',
      `      ${id} {`,
      `        local_ts = ${local}`,
      `        remote_ts = ${view.space_cidr_block}`,
      `        esp_proposals = ${proposals}`,
      '        rekey_time = 1h',
      '        dpd_action = restart',
      '        start_action = start',
      '        close_action = start',
      '      }',
      '    }',
      '  }',
    )
    secrets.push(
      `  ike-${id} {`,
      `    id-1 = ${t.customer_ip}`,
      `    id-2 = ${t.ip}`,
      `    secret = "${t.pre_shared_key}"`,
      '  }',
    )
  })
  lines.push('}', ...secrets, '}')
  return `${lines.join('\n')}\n`
}
