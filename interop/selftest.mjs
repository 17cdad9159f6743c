#!/usr/bin/env node
// Self-test: runs pairs of peer.mjs instances (one listen, one dial) against
// each other and checks the JSON-lines protocol end to end. Exits 0 on success.
//
//   node interop/selftest.mjs          (after `npm ci --prefix interop`)
//
// Set SELFTEST_VERBOSE=1 to echo every event line.

import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { RLP } from '@ethereumjs/rlp'
import { bytesToHex } from '@ethereumjs/util'

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'peer.mjs')
const VERBOSE = process.env.SELFTEST_VERBOSE === '1'
const GENESIS = '0x' + '11'.repeat(32)
const OTHER_GENESIS = '0x' + '22'.repeat(32)
const KEY_A = '0x' + 'aa'.repeat(32)
const KEY_B = '0x' + 'bb'.repeat(32)

class PeerProc {
  constructor(name, args) {
    this.name = name
    this.events = []
    this.waiters = []
    this.stderr = ''
    this.proc = spawn(process.execPath, [PEER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.proc.stderr.on('data', (d) => (this.stderr += d))
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)))
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let ev
      try {
        ev = JSON.parse(line)
      } catch {
        throw new Error(`${name}: non-JSON line on stdout: ${line}`)
      }
      if (VERBOSE) console.log(`  ${name} <- ${line}`)
      this.events.push(ev)
      this.waiters = this.waiters.filter((w) => !w(ev))
    })
  }

  send(cmd) {
    if (VERBOSE) console.log(`  ${this.name} -> ${JSON.stringify(cmd)}`)
    this.proc.stdin.write(JSON.stringify(cmd) + '\n')
  }

  // Resolves with the first event (already seen or future) matching pred.
  waitFor(pred, what, ms = 10000) {
    const seen = this.events.find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${this.name}: timed out waiting for ${what}; stderr:\n${this.stderr}`)),
        ms,
      )
      this.waiters.push((ev) => {
        if (!pred(ev)) return false
        clearTimeout(t)
        resolve(ev)
        return true
      })
    })
  }

  ev(name, extra = () => true, ms) {
    return this.waitFor((e) => e.event === name && extra(e), `event ${name}`, ms)
  }

  async stop() {
    if (this.proc.exitCode === null) {
      this.send({ cmd: 'exit' })
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000)
      await this.exited
      clearTimeout(t)
    }
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`)
}

const baseArgs = (net, genesis) => ['--network-id', String(net), '--genesis', genesis]

async function pair({ a = [], b = [] }) {
  const A = new PeerProc('A', ['--mode', 'listen', '--key', KEY_A, ...a])
  const readyA = await A.ev('ready')
  const B = new PeerProc('B', ['--mode', 'dial', '--key', KEY_B, '--remote', readyA.enode, ...b])
  const readyB = await B.ev('ready')
  return { A, B, readyA, readyB }
}

// A plausible 15-field pre-London header.
function fakeHeader(n) {
  const h32 = (b) => new Uint8Array(32).fill(b)
  return bytesToHex(
    RLP.encode([
      h32(1), h32(2), new Uint8Array(20).fill(3), h32(4), h32(5), h32(6),
      new Uint8Array(256), 131072n, BigInt(n), 5000n, 0n, 1700000000n,
      new Uint8Array([0x65, 0x6a, 0x73]), h32(7), new Uint8Array(8),
    ]),
  )
}

const results = []
function report(line) {
  console.log(line)
  results.push(line)
}

async function happyPath() {
  console.log('== happy path: listen A <- dial B, network 1337, same genesis')
  const { A, B, readyA, readyB } = await pair({
    a: baseArgs(1337, GENESIS),
    b: baseArgs(1337, GENESIS),
  })
  try {
    assert(/^enode:\/\/[0-9a-f]{128}@127\.0\.0\.1:\d+$/.test(readyA.enode), 'A enode format')
    assert(readyA.id.length === 128 && readyB.id.length === 128, 'ids are 128 hex')
    const [peerA, peerB] = await Promise.all([A.ev('peer'), B.ev('peer')])
    assert(peerA.id === readyB.id && peerB.id === readyA.id, 'peer ids match the ready ids')
    console.log(`A peer: ${JSON.stringify(peerA)}`)
    console.log(`B peer: ${JSON.stringify(peerB)}`)
    const [stA, stB] = await Promise.all([A.ev('status'), B.ev('status')])
    console.log(`A status: ${JSON.stringify(stA)}`)
    console.log(`B status: ${JSON.stringify(stB)}`)
    for (const s of [stA, stB]) {
      assert(s.version === 68, 'eth/68 negotiated')
      assert(s.networkId === 1337, 'network id 1337')
      assert(s.genesis === GENESIS, 'genesis')
      assert(Array.isArray(s.forkId) && /^0x[0-9a-f]{8}$/.test(s.forkId[0]), 'fork id')
    }

    const reqId = 4242
    B.send({ cmd: 'getBlockHeaders', reqId, start: 0, max: 2, skip: 0, reverse: false })
    const req = await A.ev('message', (e) => e.name === 'GetBlockHeaders')
    console.log(`A got: ${JSON.stringify(req)}`)
    assert(req.reqId === String(reqId), 'request reqId')
    assert(req.request.start === 0 && req.request.max === 2, 'request fields')
    const headers = [fakeHeader(0), fakeHeader(1)]
    A.send({ cmd: 'blockHeaders', reqId: Number(req.reqId), headers })
    const resp = await B.ev('message', (e) => e.name === 'BlockHeaders')
    console.log(`B got: BlockHeaders reqId=${resp.reqId} headers=${resp.headers.length}`)
    assert(resp.reqId === String(reqId), 'response reqId')
    assert(JSON.stringify(resp.headers) === JSON.stringify(headers), 'headers round-trip')

    // Request by hash, reversed, with a big reqId.
    const bigReq = '18446744073709551615'
    B.send({ cmd: 'getBlockHeaders', reqId: bigReq, start: GENESIS, max: 1, skip: 3, reverse: true })
    const req2 = await A.ev('message', (e) => e.name === 'GetBlockHeaders' && e.reqId === bigReq)
    assert(req2.request.start === GENESIS && req2.request.skip === 3 && req2.request.reverse, 'by-hash request')

    B.send({ cmd: 'ping' })
    const [pingA, pongB] = await Promise.all([A.ev('ping'), B.ev('pong')])
    assert(pingA && pongB, 'ping/pong')
    console.log('B ping -> A saw ping, B saw pong')

    B.send({ cmd: 'disconnect', reason: 8 })
    const [dA, dB] = await Promise.all([A.ev('disconnect'), B.ev('disconnect')])
    console.log(`A disconnect: ${JSON.stringify(dA)}`)
    console.log(`B disconnect: ${JSON.stringify(dB)}`)
    assert(dB.reason === 8 && dB.initiatedByUs === true, 'B: reason 8, initiated by us')
    assert(dA.reason === 8 && dA.initiatedByUs === false, 'A: reason 8, initiated by remote')
    report(`happy path: disconnect(8) seen as A=${dA.reason}/${dA.reasonName} B=${dB.reason}/${dB.reasonName}`)
  } finally {
    await Promise.all([A.stop(), B.stop()])
  }
}

// Runs a pair that is expected to fail the handshake; returns what each side saw.
async function expectRejected(title, args) {
  console.log(`== ${title}`)
  const { A, B } = await pair(args)
  try {
    const [dA, dB] = await Promise.all([A.ev('disconnect'), B.ev('disconnect')])
    const errs = (P) =>
      P.events
        .filter((e) => e.event === 'error')
        .map((e) => e.message)
        .join(' | ')
    const peerSeen = (P) => P.events.some((e) => e.event === 'peer')
    console.log(`A disconnect: ${JSON.stringify(dA)}  errors: ${errs(A) || '-'}  helloDone: ${peerSeen(A)}`)
    console.log(`B disconnect: ${JSON.stringify(dB)}  errors: ${errs(B) || '-'}  helloDone: ${peerSeen(B)}`)
    report(
      `${title}: A reason=${dA.reason} (${dA.reasonName}, byUs=${dA.initiatedByUs}), ` +
        `B reason=${dB.reason} (${dB.reasonName}, byUs=${dB.initiatedByUs})`,
    )
    return { dA, dB, A, B }
  } finally {
    await Promise.all([A.stop(), B.stop()])
  }
}

const SUBPROTOCOL_ERROR = 0x10
const USELESS_PEER = 0x03

async function main() {
  const deadline = setTimeout(() => {
    console.error('selftest: global timeout')
    process.exit(1)
  }, 120000)

  await happyPath()

  const net = await expectRejected('network id mismatch (1337 vs 1338)', {
    a: baseArgs(1337, GENESIS),
    b: baseArgs(1338, GENESIS),
  })
  assert(net.dA.reason === SUBPROTOCOL_ERROR && net.dB.reason === SUBPROTOCOL_ERROR, 'network mismatch -> 0x10 on both sides')
  assert(
    [net.A, net.B].some((P) => P.events.some((e) => e.event === 'error' && /NetworkId mismatch/.test(e.message))),
    'NetworkId mismatch error reported',
  )

  const gen = await expectRejected('genesis mismatch', {
    a: baseArgs(1337, GENESIS),
    b: baseArgs(1337, OTHER_GENESIS),
  })
  assert(gen.dA.reason === SUBPROTOCOL_ERROR && gen.dB.reason === SUBPROTOCOL_ERROR, 'genesis mismatch -> 0x10')

  const fork = await expectRejected('fork hash mismatch (0x01020304 vs 0x05060708)', {
    a: [...baseArgs(1337, GENESIS), '--fork-hash', '0x01020304'],
    b: [...baseArgs(1337, GENESIS), '--fork-hash', '0x05060708'],
  })
  assert(fork.dA.reason === SUBPROTOCOL_ERROR && fork.dB.reason === SUBPROTOCOL_ERROR, 'fork mismatch -> 0x10')

  const caps = await expectRejected('no shared eth version (68 vs 66)', {
    a: [...baseArgs(1337, GENESIS), '--eth-versions', '68'],
    b: [...baseArgs(1337, GENESIS), '--eth-versions', '66'],
  })
  assert(caps.dA.reason === USELESS_PEER || caps.dB.reason === USELESS_PEER, 'no shared caps -> 0x03')

  clearTimeout(deadline)
  console.log('== summary')
  for (const r of results) console.log(`  ${r}`)
  console.log('selftest: 5 passed, 0 failed')
}

main().catch((err) => {
  console.error(`selftest FAILED: ${err?.stack ?? err}`)
  process.exit(1)
})
