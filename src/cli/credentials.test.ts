import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import {
  credentialsPath,
  DEFAULT_API_URL,
  deleteCredentialsFile,
  readCredentialsFile,
  resolveCredentials,
  writeCredentialsFile,
} from './credentials.js'

const stored = { url: 'http://10.0.0.5:5000', email: 'me@example.com', token: 'from-file' }

describe('resolveCredentials', () => {
  test('LOCALSPACE_* wins over HEROKU_* and the file', () => {
    const c = resolveCredentials(
      {
        LOCALSPACE_API_URL: 'http://a:1',
        LOCALSPACE_API_KEY: 'ls-key',
        HEROKU_HOST: 'http://b:2',
        HEROKU_API_KEY: 'h-key',
      },
      stored,
    )
    assert.deepEqual(c, { url: 'http://a:1', token: 'ls-key', source: 'LOCALSPACE_API_KEY' })
  })

  test('HEROKU_HOST and HEROKU_API_KEY come next', () => {
    const c = resolveCredentials({ HEROKU_HOST: 'http://b:2/', HEROKU_API_KEY: 'h-key' }, stored)
    assert.deepEqual(c, { url: 'http://b:2', token: 'h-key', source: 'HEROKU_API_KEY' })
  })

  test('HEROKU_HOST without a scheme means https://api.<host>, as heroku reads it', () => {
    assert.equal(
      resolveCredentials({ HEROKU_HOST: 'example.com' }, undefined).url,
      'https://api.example.com',
    )
  })

  test('the URL and the key are resolved separately', () => {
    const c = resolveCredentials(
      { LOCALSPACE_API_URL: 'http://a:1', HEROKU_API_KEY: 'h-key' },
      stored,
    )
    assert.deepEqual(c, { url: 'http://a:1', token: 'h-key', source: 'HEROKU_API_KEY' })
  })

  test('without the environment, the login file gives both', () => {
    assert.deepEqual(resolveCredentials({}, stored), {
      url: 'http://10.0.0.5:5000',
      token: 'from-file',
      source: 'credentials file',
      email: 'me@example.com',
    })
  })

  test('empty variables count as unset', () => {
    const c = resolveCredentials({ LOCALSPACE_API_URL: '', LOCALSPACE_API_KEY: '' }, stored)
    assert.equal(c.source, 'credentials file')
  })

  test("the file's token is never sent to a different URL named by the environment", () => {
    const c = resolveCredentials({ LOCALSPACE_API_URL: 'http://elsewhere:5000' }, stored)
    assert.deepEqual(c, { url: 'http://elsewhere:5000', token: undefined, source: 'none' })
  })

  test('with nothing at all: the default URL and no key', () => {
    assert.deepEqual(resolveCredentials({}, undefined), {
      url: DEFAULT_API_URL,
      token: undefined,
      source: 'none',
    })
  })
})

describe('credentialsPath', () => {
  test('is under XDG_CONFIG_HOME when set', () => {
    assert.equal(
      credentialsPath({ XDG_CONFIG_HOME: '/x' }, '/home/me'),
      '/x/localspace/credentials.json',
    )
  })

  test('defaults to ~/.config', () => {
    assert.equal(credentialsPath({}, '/home/me'), '/home/me/.config/localspace/credentials.json')
  })
})

describe('the credentials file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-cred-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('is written with mode 0600 in a 0700 directory and read back', () => {
    const path = join(dir, 'new', 'localspace', 'credentials.json')
    writeCredentialsFile(path, stored)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    assert.equal(statSync(join(dir, 'new', 'localspace')).mode & 0o777, 0o700)
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), stored)
    assert.deepEqual(readCredentialsFile(path), stored)
  })

  test('an existing file with loose permissions is tightened on rewrite', () => {
    const path = join(dir, 'loose.json')
    writeFileSync(path, '{}', { mode: 0o644 })
    writeCredentialsFile(path, stored)
    assert.equal(statSync(path).mode & 0o777, 0o600)
  })

  test('a missing or corrupt file reads as not logged in', () => {
    assert.equal(readCredentialsFile(join(dir, 'absent.json')), undefined)
    const corrupt = join(dir, 'corrupt.json')
    writeFileSync(corrupt, '{"url": ')
    assert.equal(readCredentialsFile(corrupt), undefined)
  })

  test('deleting reports whether there was a file', () => {
    const path = join(dir, 'gone.json')
    writeCredentialsFile(path, stored)
    assert.equal(deleteCredentialsFile(path), true)
    assert.equal(deleteCredentialsFile(path), false)
  })
})
