/**
 * Questions on stderr, answers from stdin. At a terminal a password is read in raw mode so it is
 * never echoed; from a pipe, each answer is the next line (`printf 'me@x\nsecret\n' | localspace
 * login`).
 */
import type { Interface } from 'node:readline'
import type { TextSink } from './output.js'

export interface PromptInput extends NodeJS.ReadableStream {
  isTTY?: boolean
  setRawMode?(mode: boolean): unknown
}

/** The person pressed Ctrl-C, or stdin ended before an answer came. */
export class PromptAborted extends Error {
  override readonly name = 'PromptAborted'
}

export class Prompter {
  private pipe: { rl: Interface; lines: AsyncIterator<string> } | undefined

  constructor(
    private readonly input: PromptInput,
    private readonly output: TextSink,
  ) {}

  get interactive(): boolean {
    return this.input.isTTY === true
  }

  async ask(question: string): Promise<string> {
    this.output.write(question)
    if (!this.interactive) return this.nextLine()
    const { createInterface } = await import('node:readline')
    const rl = createInterface({ input: this.input, terminal: false })
    try {
      const [line] = (await onceLine(rl)) ?? []
      if (line === undefined) throw new PromptAborted('Aborted.')
      return line.trim()
    } finally {
      rl.close()
    }
  }

  async askHidden(question: string): Promise<string> {
    if (!this.interactive || !this.input.setRawMode) return this.ask(question)
    this.output.write(question)
    const input = this.input
    input.setRawMode?.(true)
    input.resume()
    input.setEncoding('utf8')
    try {
      return await new Promise<string>((resolve, reject) => {
        let value = ''
        const onData = (chunk: string | Buffer) => {
          for (const ch of String(chunk)) {
            if (ch === '\r' || ch === '\n' || ch === '\u0004') {
              input.off('data', onData)
              resolve(value)
              return
            }
            if (ch === '\u0003') {
              input.off('data', onData)
              reject(new PromptAborted('Aborted.'))
              return
            }
            value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch
          }
        }
        input.on('data', onData)
      })
    } finally {
      input.setRawMode?.(false)
      input.pause()
      this.output.write('\n')
    }
  }

  /** Stops reading stdin so the process can exit. */
  close(): void {
    this.pipe?.rl.close()
    this.pipe = undefined
  }

  private async nextLine(): Promise<string> {
    if (!this.pipe) {
      const { createInterface } = await import('node:readline')
      // One reader for all questions: a second one would lose what the first had buffered.
      const rl = createInterface({ input: this.input, terminal: false })
      this.pipe = { rl, lines: rl[Symbol.asyncIterator]() }
    }
    const next = await this.pipe.lines.next()
    if (next.done) {
      this.output.write('\n')
      throw new PromptAborted(
        'No answer: stdin ended. Pass the answers as flags, or run in a terminal.',
      )
    }
    this.output.write('\n')
    return next.value.trim()
  }
}

function onceLine(rl: Interface): Promise<[string] | undefined> {
  return new Promise((resolve) => {
    rl.once('line', (line) => resolve([line]))
    rl.once('close', () => resolve(undefined))
  })
}
