/**
 * The memory cgroups for real (cgroup v1, as root), under a parent of this test's own so
 * that dynos and builds of other runs are never touched.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, rmdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { createCgroup, removeCgroup } from './cgroup.js'

const MEMORY = '/sys/fs/cgroup/memory'
const root = join(MEMORY, `localspace-test-${randomBytes(4).toString('hex')}`)
const MB = 1024 * 1024

describe(
  'memory cgroups',
  { skip: !existsSync(MEMORY) && 'no cgroup v1 memory controller' },
  () => {
    after(() => {
      for (const child of existsSync(root) ? readdirSync(root, { withFileTypes: true }) : [])
        if (child.isDirectory()) rmdirSync(join(root, child.name))
      if (existsSync(root)) rmdirSync(root)
    })

    test('the parent exists while it has children and goes with the last one', async () => {
      await createCgroup(join(root, 'a'), 64 * MB)
      await createCgroup(join(root, 'b'), 64 * MB)
      await removeCgroup(join(root, 'a'))
      assert.ok(existsSync(join(root, 'b')), 'the other child stays')
      assert.ok(existsSync(root), 'the parent stays while it has a child')
      await removeCgroup(join(root, 'b'))
      assert.equal(existsSync(root), false, 'the last child took the parent along')
      // Removing again (an interrupted cleanup run twice) is fine.
      await removeCgroup(join(root, 'b'))
    })

    test('children made and removed side by side never fail and leave nothing', async () => {
      // One child comes and goes while others are made: each removal may take the parent away
      // just as another child is being made in it.
      await Promise.all(
        Array.from({ length: 8 }, async (_, worker) => {
          for (let i = 0; i < 25; i++) {
            const dir = join(root, `w${worker}-${i}`)
            await createCgroup(dir, 64 * MB)
            assert.ok(existsSync(join(dir, 'memory.limit_in_bytes')))
            await removeCgroup(dir)
          }
        }),
      )
      assert.equal(existsSync(root), false)
    })
  },
)
