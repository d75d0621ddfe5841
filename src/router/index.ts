/** The router data plane (docs/design.md §6). See router.ts for the lifecycle. */
export {
  Router,
  type RouterService,
  type RouterListen,
  type RouterOptions,
  type RouterTimeouts,
  type RouterLimits,
} from './router.js'
export {
  RoutingTable,
  type RouterApp,
  type RouterCertificate,
  type RouterDyno,
  type RouterSpace,
  type RouteUpdates,
} from './routing-table.js'
export { RouterWorkers, type RouterWorkersOptions } from './workers.js'
export { TrustedRanges, clientIpv4, type InboundRule } from './trusted-ranges.js'
export { routerLogLine, ROUTER_ERRORS, type RouterErrorCode } from './heroku.js'
