/**
 * Log lines as syslog, the way Logplex writes them to drains:
 *
 * - RFC 5424 messages, `<190>1 <time> <host> <source> <dyno> - <msg>` (facility local7,
 *   severity info; APP-NAME is `app` or `heroku`, PROCID the dyno). HTTPS drains get
 *   `application/logplex-1`, which has no STRUCTURED-DATA field; syslog drains get the
 *   full form with `-` for it, and the drain token as HOSTNAME, as Logplex does.
 * - Each message ends with a line break and is framed by octet counting (RFC 6587 §3.4.1):
 *   `<bytes> <message>`, the count covering the message's UTF-8 bytes, line break included.
 * - A message is at most MAX_LINE_BYTES (10 KB) of text: a longer line becomes several.
 */
import type { LogLine } from '../core/log-view.js'
import { MAX_LINE_BYTES, splitLogText } from './split.js'

/** local7.info: every app and platform line. */
export const PRI_INFO = 23 * 8 + 6
/** local5.warning: Logplex's own notices, such as L10. */
export const PRI_WARNING = 21 * 8 + 4

export interface SyslogFormat {
  /** HOSTNAME: `host` for HTTPS drains, the drain token for syslog ones. */
  hostname: string
  /** `logplex`: no STRUCTURED-DATA field (application/logplex-1); `rfc5424`: `-` for it. */
  style: 'logplex' | 'rfc5424'
  pri?: number
}

/** RFC 5424 header fields are printable ASCII without spaces; `-` stands for none. */
const field = (value: string): string => {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, 48)
  return clean === '' ? '-' : clean
}

/**
 * The messages of one line (several when its text is over 10 KB, or holds line breaks),
 * each already framed: `<bytes> <message>\n`.
 */
export function syslogFrames(
  line: Pick<LogLine, 'time' | 'source' | 'dyno' | 'text'>,
  format: SyslogFormat,
  maxBytes = MAX_LINE_BYTES,
): string[] {
  const sd = format.style === 'rfc5424' ? ' -' : ''
  const header =
    `<${format.pri ?? PRI_INFO}>1 ${field(line.time)} ${field(format.hostname)} ` +
    `${field(line.source)} ${field(line.dyno)} -${sd} `
  const texts = splitLogText(line.text, maxBytes)
  return (texts.length === 0 ? [''] : texts).map((text) => octetFrame(`${header}${text}\n`))
}

/** `<bytes> <message>` (RFC 6587 octet counting). */
export const octetFrame = (message: string): string =>
  `${Buffer.byteLength(message, 'utf8')} ${message}`

/**
 * Reads octet-counted frames off a byte stream: the complete messages, and the bytes of an
 * incomplete last frame to prepend to the next chunk. Throws on bytes that are not a frame.
 */
export function readOctetFrames(buffer: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = []
  let at = 0
  for (;;) {
    const space = buffer.indexOf(0x20, at)
    if (space < 0) break
    const digits = buffer.toString('latin1', at, space)
    if (!/^[1-9]\d{0,8}$/.test(digits)) {
      throw new Error(`not an octet-counted frame at byte ${at}: ${JSON.stringify(digits)}`)
    }
    const end = space + 1 + Number(digits)
    if (end > buffer.length) break
    messages.push(buffer.toString('utf8', space + 1, end))
    at = end
  }
  return { messages, rest: buffer.subarray(at) }
}

/** A message's fields, for tests and receivers: both header styles are read. */
export interface ParsedSyslog {
  pri: number
  time: string
  hostname: string
  appName: string
  procId: string
  msgId: string
  text: string
}

const LOGPLEX_MESSAGE = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ((?:- )?)([\s\S]*)$/

/**
 * Parses a message as syslogFrames wrote it. A `- ` right after MSGID is read as the NILVALUE
 * STRUCTURED-DATA only when `style` is rfc5424, since a logplex message's text may begin so.
 */
export function parseSyslogMessage(
  message: string,
  style: SyslogFormat['style'],
): ParsedSyslog | undefined {
  const m = LOGPLEX_MESSAGE.exec(message)
  if (!m) return undefined
  const sdAndText = style === 'rfc5424' ? m[8]! : `${m[7]}${m[8]}`
  if (style === 'rfc5424' && m[7] !== '- ') return undefined
  return {
    pri: Number(m[1]),
    time: m[2]!,
    hostname: m[3]!,
    appName: m[4]!,
    procId: m[5]!,
    msgId: m[6]!,
    text: sdAndText.replace(/\n$/, ''),
  }
}
