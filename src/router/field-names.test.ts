import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FieldNames, isField } from './field-names.js'

describe('field names', () => {
  test('isField matches in any case, and only the same name', () => {
    assert.equal(isField('Content-Length', 'content-length'), true)
    assert.equal(isField('CONTENT-LENGTH', 'content-length'), true)
    assert.equal(isField('content-length', 'content-length'), true)
    assert.equal(isField('Content-Lengths', 'content-length'), false)
    assert.equal(isField('Content_Length', 'content-length'), false)
    assert.equal(isField('Content-Lengti', 'content-length'), false)
    assert.equal(isField('', 'host'), false)
  })

  test('FieldNames finds the name of the set, whatever its case', () => {
    const names = new FieldNames(['connection', 'te', 'via', 'x-request-id'])
    assert.equal(names.match('Connection'), 'connection')
    assert.equal(names.match('TE'), 'te')
    assert.equal(names.match('Via'), 'via')
    assert.equal(names.match('X-Request-ID'), 'x-request-id')
    assert.equal(names.match('X-Request-IE'), undefined)
    assert.equal(names.match('Vic'), undefined) // same length, another name
    assert.equal(names.match('Host'), undefined) // a length none of them has
  })
})
