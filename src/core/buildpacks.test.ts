import assert from 'node:assert/strict'
import { test } from 'node:test'
import { knownBuildpack } from './buildpacks.js'

test('a buildpack is known by its name, URN, repository or archive URL; others are not', () => {
  for (const spelling of [
    'heroku/nodejs',
    'urn:buildpack:heroku/nodejs',
    'https://github.com/heroku/heroku-buildpack-nodejs',
    'https://github.com/heroku/heroku-buildpack-nodejs.git',
    'https://example.com/buildpacks/heroku/nodejs.tgz',
  ]) {
    assert.equal(knownBuildpack(spelling)?.kind, 'Node.js', spelling)
  }
  assert.equal(knownBuildpack('heroku/python')?.kind, 'Python')
  assert.equal(knownBuildpack('heroku/procfile')?.kind, 'Procfile')
  for (const unknown of [
    'heroku/ruby',
    'http://github.com/heroku/heroku-buildpack-nodejs',
    'https://github.com/someone/heroku-buildpack-nodejs',
    'https://example.com/heroku/nodejs.tgz',
    'nodejs',
    '',
  ]) {
    assert.equal(knownBuildpack(unknown), undefined, unknown)
  }
})
