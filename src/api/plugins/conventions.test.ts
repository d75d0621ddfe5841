import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FastifyError } from 'fastify'
import { errors, isPlatformError } from '../../core/errors.js'
import { checkAccept, requestIdFrom, toPlatformError } from './conventions.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('checkAccept', () => {
  test('every version 3 variant is accepted', () => {
    for (const accept of [
      'application/vnd.heroku+json; version=3',
      'application/vnd.heroku+json; version=3.sdk',
      'application/vnd.heroku+json; version=3.fir',
      'application/vnd.heroku+json; version=3.dogwood',
      'application/vnd.heroku+json; version=3.account-quotas',
      'application/vnd.heroku+json;version=3',
      'APPLICATION/VND.HEROKU+JSON; VERSION=3',
      'application/vnd.heroku+json ; version = 3',
      'application/vnd.heroku+json; version=3, application/json',
    ]) {
      assert.doesNotThrow(() => checkAccept(accept), accept)
    }
  })

  test('no heroku media type at all is treated as version 3', () => {
    for (const accept of [undefined, '', '*/*', 'application/json', 'text/html']) {
      assert.doesNotThrow(() => checkAccept(accept), String(accept))
    }
  })

  test('other versions are refused with 406 not_acceptable', () => {
    for (const accept of [
      'application/vnd.heroku+json; version=2',
      'application/vnd.heroku+json; version=4',
      'application/vnd.heroku+json; version=30',
      'application/vnd.heroku+json; version=3.',
      'application/vnd.heroku+json; version=edge',
    ]) {
      assert.throws(
        () => checkAccept(accept),
        (e: unknown) => isPlatformError(e) && e.statusCode === 406 && e.id === 'not_acceptable',
        accept,
      )
    }
  })
})

describe('requestIdFrom', () => {
  test('a single sane id is kept', () => {
    assert.equal(
      requestIdFrom('5c0e8a2e-1b5e-4d3a-9f41-6a1d3c2b1a00'),
      '5c0e8a2e-1b5e-4d3a-9f41-6a1d3c2b1a00',
    )
    assert.equal(requestIdFrom('req_1.2:3-x'), 'req_1.2:3-x')
  })

  test('the first id of a comma-joined list is taken', () => {
    assert.equal(requestIdFrom('first-id,second-id,third-id'), 'first-id')
    assert.equal(requestIdFrom(' first-id , second-id'), 'first-id')
  })

  test('the first of repeated headers is taken', () => {
    assert.equal(requestIdFrom(['one,two', 'three']), 'one')
  })

  test('a missing, empty or unsafe id is replaced by a new uuid', () => {
    for (const header of [
      undefined,
      '',
      ' ',
      ',second',
      'has space',
      'new\nline',
      '<script>',
      'x'.repeat(201),
      [],
    ]) {
      assert.match(requestIdFrom(header), UUID, JSON.stringify(header))
    }
  })

  test('generated ids differ per request', () => {
    assert.notEqual(requestIdFrom(undefined), requestIdFrom(undefined))
  })

  test('an id of 200 characters is the longest kept', () => {
    const id = 'x'.repeat(200)
    assert.equal(requestIdFrom(id), id)
  })
})

describe('toPlatformError', () => {
  const fastifyError = (fields: Partial<FastifyError>): FastifyError =>
    Object.assign(new Error(fields.message ?? 'boom'), fields) as FastifyError

  test('platform errors pass through unchanged', () => {
    const e = errors.forbidden()
    assert.equal(toPlatformError(e), e)
  })

  test('a missing required field becomes invalid_params naming the field', () => {
    const e = toPlatformError(
      fastifyError({
        validation: [
          {
            keyword: 'required',
            instancePath: '',
            schemaPath: '#/required',
            params: { missingProperty: 'name' },
            message: "must have required property 'name'",
          },
        ],
        validationContext: 'body',
      }),
    )
    assert.equal(e.statusCode, 422)
    assert.equal(e.id, 'invalid_params')
    assert.equal(e.message, 'name is required.')
  })

  test('a wrong type becomes invalid_params with the nested path', () => {
    const e = toPlatformError(
      fastifyError({
        validation: [
          {
            keyword: 'type',
            instancePath: '/updates/0/quantity',
            schemaPath: '#/properties/updates/items/properties/quantity/type',
            params: { type: 'integer,string' },
            message: 'must be integer,string',
          },
        ],
        validationContext: 'body',
      }),
    )
    assert.equal(e.id, 'invalid_params')
    assert.equal(e.message, 'updates.0.quantity must be integer,string.')
  })

  test('fastify’s body errors map onto the catalogue', () => {
    const tooLarge = toPlatformError(
      fastifyError({
        code: 'FST_ERR_CTP_BODY_TOO_LARGE',
        statusCode: 413,
        message: 'Request body is too large',
      }),
    )
    assert.equal(tooLarge.statusCode, 413)
    assert.equal(tooLarge.id, 'payload_too_large')
    const media = toPlatformError(
      fastifyError({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }),
    )
    assert.equal(media.statusCode, 415)
    assert.equal(media.id, 'unsupported_media_type')
    const length = toPlatformError(
      fastifyError({ code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400 }),
    )
    assert.equal(length.id, 'bad_request')
  })

  test('other client errors are bad_request and anything else is internal', () => {
    assert.equal(toPlatformError(fastifyError({ statusCode: 400 })).id, 'bad_request')
    const internal = toPlatformError(fastifyError({ message: 'database is locked' }))
    assert.equal(internal.statusCode, 500)
    assert.equal(internal.id, 'internal_server_error')
    assert.equal(internal.message, 'Internal server error.', 'no internals leak to the client')
  })
})
