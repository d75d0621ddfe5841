import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isPlatformError } from './errors.js'
import { planSpaceCidrs } from './space-cidrs.js'

function refused(requested: { cidr?: unknown; dataCidr?: unknown }, taken: string[] = []) {
  assert.throws(
    () => planSpaceCidrs(requested, taken),
    (e: unknown) => isPlatformError(e) && e.statusCode === 422 && e.id === 'invalid_params',
    JSON.stringify(requested),
  )
}

describe('default cidr pairs', () => {
  test('the first space gets 10.0.0.0/16 and 10.1.0.0/16', () => {
    assert.deepEqual(planSpaceCidrs({}, []), { cidr: '10.0.0.0/16', dataCidr: '10.1.0.0/16' })
  })

  test('the next pair skips every taken range', () => {
    assert.deepEqual(planSpaceCidrs({}, ['10.0.0.0/16', '10.1.0.0/16']), {
      cidr: '10.2.0.0/16',
      dataCidr: '10.3.0.0/16',
    })
  })

  test('a pair is skipped when only its data half is taken', () => {
    assert.deepEqual(planSpaceCidrs({}, ['10.1.0.0/16']), {
      cidr: '10.2.0.0/16',
      dataCidr: '10.3.0.0/16',
    })
  })

  test('small host networks inside a pair push the allocation on', () => {
    assert.deepEqual(planSpaceCidrs({}, ['10.0.0.0/16', '10.1.0.0/16', '10.3.7.0/24']), {
      cidr: '10.4.0.0/16',
      dataCidr: '10.5.0.0/16',
    })
  })

  test('a freed pair is reused', () => {
    assert.deepEqual(planSpaceCidrs({}, ['10.2.0.0/16', '10.3.0.0/16']), {
      cidr: '10.0.0.0/16',
      dataCidr: '10.1.0.0/16',
    })
  })

  test('unparseable taken entries are ignored', () => {
    assert.deepEqual(planSpaceCidrs({}, ['not a cidr', '']), {
      cidr: '10.0.0.0/16',
      dataCidr: '10.1.0.0/16',
    })
  })

  test('a full 10.0.0.0/8 is refused', () => {
    refused({}, ['10.0.0.0/8'])
  })

  test('a data cidr alone gets a default cidr that avoids it', () => {
    assert.deepEqual(planSpaceCidrs({ dataCidr: '10.0.16.0/20' }, []), {
      cidr: '10.2.0.0/16',
      dataCidr: '10.0.16.0/20',
    })
    assert.deepEqual(planSpaceCidrs({ dataCidr: '192.168.0.0/20' }, []), {
      cidr: '10.0.0.0/16',
      dataCidr: '192.168.0.0/20',
    })
  })
})

describe('custom cidrs', () => {
  test('a custom cidr gets the first free /20 of 172.16.0.0/12 as its data cidr', () => {
    assert.deepEqual(planSpaceCidrs({ cidr: '10.50.0.0/16' }, []), {
      cidr: '10.50.0.0/16',
      dataCidr: '172.16.0.0/20',
    })
    assert.deepEqual(planSpaceCidrs({ cidr: '10.50.0.0/16' }, ['172.16.0.0/20']), {
      cidr: '10.50.0.0/16',
      dataCidr: '172.16.16.0/20',
    })
  })

  test('the data cidr skips the custom cidr itself and 172.17.0.0/16', () => {
    assert.deepEqual(planSpaceCidrs({ cidr: '172.16.0.0/16' }, []), {
      cidr: '172.16.0.0/16',
      dataCidr: '172.18.0.0/20',
    })
  })

  test('an explicit pair is kept as given', () => {
    assert.deepEqual(planSpaceCidrs({ cidr: '192.168.0.0/16', dataCidr: '10.9.0.0/18' }, []), {
      cidr: '192.168.0.0/16',
      dataCidr: '10.9.0.0/18',
    })
  })

  test('data cidrs from /16 to /20 are accepted', () => {
    for (const dataCidr of ['10.9.0.0/16', '10.9.0.0/17', '10.9.0.0/19', '10.9.0.0/20']) {
      assert.equal(planSpaceCidrs({ cidr: '10.8.0.0/16', dataCidr }, []).dataCidr, dataCidr)
    }
  })

  test('cidrs in every rfc 1918 block are accepted', () => {
    for (const cidr of ['10.255.0.0/16', '172.31.0.0/16', '192.168.0.0/16']) {
      assert.equal(planSpaceCidrs({ cidr }, []).cidr, cidr)
    }
  })

  test('a cidr that is not a /16 is refused', () => {
    for (const cidr of ['10.0.0.0/8', '10.0.0.0/15', '10.0.0.0/17', '10.0.0.0/24'])
      refused({ cidr })
  })

  test('a cidr outside rfc 1918 is refused', () => {
    for (const cidr of ['8.8.0.0/16', '100.64.0.0/16', '172.32.0.0/16', '192.169.0.0/16']) {
      refused({ cidr })
    }
  })

  test('172.17.0.0/16 is refused as cidr and as data cidr', () => {
    refused({ cidr: '172.17.0.0/16' })
    refused({ cidr: '10.0.0.0/16', dataCidr: '172.17.0.0/20' })
    refused({ cidr: '10.0.0.0/16', dataCidr: '172.17.240.0/20' })
  })

  test('cidrs with host bits or that are not cidrs are refused', () => {
    for (const cidr of ['10.0.0.1/16', 'banana', '10.0.0.0', 42, null, 'fd00::/16'])
      refused({ cidr })
  })

  test('a data cidr outside /16../20 is refused', () => {
    for (const dataCidr of ['10.9.0.0/15', '10.9.0.0/21', '10.9.0.0/24', '10.0.0.0/8']) {
      refused({ cidr: '10.8.0.0/16', dataCidr })
    }
  })

  test('a data cidr overlapping the cidr is refused', () => {
    refused({ cidr: '10.8.0.0/16', dataCidr: '10.8.16.0/20' })
    refused({ cidr: '10.8.0.0/16', dataCidr: '10.8.0.0/16' })
  })

  test('overlaps with taken ranges are refused', () => {
    const taken = ['10.0.0.0/16', '10.1.0.0/16', '172.16.0.0/20']
    refused({ cidr: '10.0.0.0/16' }, taken)
    refused({ cidr: '10.1.0.0/16' }, taken)
    refused({ cidr: '172.16.0.0/16' }, taken)
    refused({ cidr: '10.5.0.0/16', dataCidr: '10.0.240.0/20' }, taken)
    refused({ dataCidr: '10.1.0.0/16' }, taken)
  })

  test('a cidr containing a small taken host network is refused', () => {
    refused({ cidr: '192.168.0.0/16' }, ['192.168.1.0/24'])
  })
})
