import { shortId } from '../core/ids.js'

/**
 * Names of the host objects localspace owns. Every one starts with `ls` and carries a short id,
 * so ownership is provable from the name alone, and fits Linux's 15-character interface limit.
 */
export const OWNED_LINK = /^ls[bdv]-[0-9a-f]{8}$/
export const OWNED_NETNS = /^ls-[0-9a-f]{8}$/
export const NFT_TABLE = 'localspace'

export const dynoBridgeName = (spaceId: string): string => `lsb-${shortId(spaceId)}`
export const dataBridgeName = (spaceId: string): string => `lsd-${shortId(spaceId)}`
export const vethName = (attachmentId: string): string => `lsv-${shortId(attachmentId)}`
export const netnsName = (attachmentId: string): string => `ls-${shortId(attachmentId)}`
