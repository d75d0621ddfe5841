import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { entryBeside, loaderFlags } from './node-entry.js'

describe('loaderFlags', () => {
  test('keeps every flag that loads code, in both spellings, with its value', () => {
    assert.deepEqual(
      loaderFlags([
        '--import',
        'tsx',
        '--require=./a.cjs',
        '-r',
        './b.cjs',
        '--loader=./c.mjs',
        '--experimental-loader',
        './d.mjs',
      ]),
      [
        '--import',
        'tsx',
        '--require=./a.cjs',
        '-r',
        './b.cjs',
        '--loader=./c.mjs',
        '--experimental-loader',
        './d.mjs',
      ],
    )
  })

  test('drops the rest: a child must not become a test runner or take the debugger port', () => {
    assert.deepEqual(
      loaderFlags(['--test', '--import=tsx', '--inspect=9229', '--enable-source-maps']),
      ['--import=tsx'],
    )
  })

  test('a loader flag without its value is dropped, not passed on broken', () => {
    assert.deepEqual(loaderFlags(['--enable-source-maps', '--import']), [])
  })
})

describe('entryBeside', () => {
  test('the named file in the same directory, with the caller’s extension', () => {
    assert.equal(
      entryBeside('file:///opt/ls/src/exec/runner.ts', 'runner-process'),
      '/opt/ls/src/exec/runner-process.ts',
    )
    assert.equal(
      entryBeside('file:///opt/ls/dist/router/workers.js', 'worker-main'),
      '/opt/ls/dist/router/worker-main.js',
    )
  })
})
