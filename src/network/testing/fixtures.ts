/** Desired-state fixtures shared by the network unit tests. */
import type { DesiredAttachment } from '../types.js'

/** One dyno of the test space 10.40.0.0/16 (bridge lsb-0000000a). */
export const testDyno: DesiredAttachment = {
  id: 'dyno-1',
  bridge: 'lsb-0000000a',
  address: '10.40.128.1',
  prefix: 16,
  gateway: '10.40.0.1',
  dns: '10.40.0.1',
  netns: 'ls-00000001',
  veth: 'lsv-00000001',
}
