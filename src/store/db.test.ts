import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { migrate, openDatabase } from './db.js'
import { MIGRATIONS } from './migrations.js'
import { Store } from './store.js'

describe('store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-db-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('a new database gets every migration once, in order', () => {
    const db = openDatabase(join(dir, 'a.db'))
    const versions = db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .pluck()
      .all()
    assert.deepEqual(
      versions,
      MIGRATIONS.map((m) => m.version),
    )
    assert.deepEqual(migrate(db, MIGRATIONS), [], 'reopening runs nothing again')
    db.close()
  })

  test('a later migration applies on top of an existing database', () => {
    const file = join(dir, 'b.db')
    openDatabase(file).close()
    const next = [
      ...MIGRATIONS,
      { version: 999, name: 'test', sql: 'CREATE TABLE extra (x INTEGER)' },
    ]
    const db = openDatabase(file, next)
    assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'extra'").get())
    db.close()
  })

  test('a failing migration leaves no trace of itself', () => {
    const file = join(dir, 'c.db')
    openDatabase(file).close()
    const broken = [
      ...MIGRATIONS,
      { version: 1000, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); THIS IS NOT SQL' },
    ]
    assert.throws(() => openDatabase(file, broken))
    const db = openDatabase(file)
    assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'half'").get(), undefined)
    assert.equal(
      db.prepare('SELECT 1 FROM schema_migrations WHERE version = 1000').get(),
      undefined,
    )
    db.close()
  })

  test('a transaction that throws writes nothing', () => {
    const store = Store.open(join(dir, 'd.db'))
    const now = new Date().toISOString()
    assert.throws(() =>
      store.transaction(() => {
        store.teams.insert({ id: 't1', name: 'one', createdAt: now, updatedAt: now })
        throw new Error('half-way')
      }),
    )
    assert.equal(store.teams.find('one'), undefined)
    store.close()
  })
})
