#!/usr/bin/env node
// Interop test peer for ethp2p, built on @ethereumjs/devp2p 10.0.0.
//
// Events go to stdout as one JSON object per line; commands are read from
// stdin as one JSON object per line. Everything else (library debug output,
// diagnostics) goes to stderr. See README.md for the protocol.

// Keep stdout clean: anything that calls console.log/info/debug goes to stderr.
for (const m of ['log', 'info', 'debug']) console[m] = (...a) => console.error(...a)

import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

import { Common, Mainnet } from '@ethereumjs/common'
import {
  DISCONNECT_REASON,
  DisconnectReasonNames,
  ETH,
  Peer,
  RLPx,
  SNAP,
  genPrivateKey,
} from '@ethereumjs/devp2p'
import { RLP } from '@ethereumjs/rlp'
import { keccak256 } from 'ethereum-cryptography/keccak.js'
import {
  bigIntToUnpaddedBytes,
  bytesToBigInt,
  bytesToHex,
  bytesToUnprefixedHex,
  bytesToUtf8,
  hexToBytes,
} from '@ethereumjs/util'

// ---------------------------------------------------------------- output ---

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function emitError(message, extra = {}) {
  emit({ event: 'error', message: String(message), ...extra })
}

// Plain JSON number when it is exactly representable, decimal string otherwise.
function num(b) {
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString()
}

const bytesToNum = (u8) => num(bytesToBigInt(u8))

// Nested Uint8Array structure -> nested hex strings.
function toJson(x) {
  if (x instanceof Uint8Array) return bytesToHex(x)
  if (Array.isArray(x)) return x.map(toJson)
  return x
}

// ------------------------------------------------------------------ args ---

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'listen' },
    key: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    remote: { type: 'string' },
    'network-id': { type: 'string', default: '1' },
    genesis: { type: 'string' },
    'fork-hash': { type: 'string' },
    'fork-next': { type: 'string', default: '0' },
    'best-hash': { type: 'string' },
    td: { type: 'string', default: '0' },
    'eth-versions': { type: 'string', default: '68,67,66' },
    'client-id': { type: 'string' },
    'max-peers': { type: 'string', default: '10' },
    snap: { type: 'boolean', default: false },
  },
  strict: true,
})

function fail(msg) {
  emitError(msg)
  process.exit(2)
}

function hex(s, len, what) {
  if (typeof s !== 'string') fail(`${what}: missing`)
  const h = s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s
  if (!/^[0-9a-fA-F]*$/.test(h) || (len !== undefined && h.length !== len * 2)) {
    fail(`${what}: expected ${len ?? 'some'} bytes of hex, got ${s}`)
  }
  return '0x' + h.toLowerCase()
}

const mode = args.mode
if (mode !== 'listen' && mode !== 'dial') fail(`--mode must be listen or dial, got ${mode}`)
if (mode === 'dial' && args.remote === undefined) fail('--mode dial needs --remote enode://...')

const privateKey = args.key !== undefined ? hexToBytes(hex(args.key, 32, '--key')) : genPrivateKey()
const networkId = BigInt(args['network-id'])
const genesisHex = hex(args.genesis ?? '0x' + 'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3', 32, '--genesis')
const genesisHash = hexToBytes(genesisHex)
const bestHash = hexToBytes(hex(args['best-hash'] ?? genesisHex, 32, '--best-hash'))
const td = BigInt(args.td)
const forkNext = BigInt(args['fork-next'])
const forkHashArg = args['fork-hash'] !== undefined ? hex(args['fork-hash'], 4, '--fork-hash') : undefined

const ethVersions = args['eth-versions']
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '')
  .map((s) => Number(s))
for (const v of ethVersions) {
  if (ETH[`eth${v}`] === undefined) fail(`unsupported eth version ${v} (library knows 62..68)`)
}
const capabilities = ethVersions.map((v) => ETH[`eth${v}`])
// --snap: also advertise snap/1 (the only snap version the library knows).
if (args.snap) capabilities.push(SNAP.snap)

// ---------------------------------------------------------------- common ---
//
// The library takes the Status network id from common.chainId() and the fork
// id from common.forkHash(common.hardfork()) and
// common.nextHardforkBlockOrTimestamp(). It validates a remote fork id by
// looking the remote fork hash up in common.hardforks() (hardforkForForkHash).
// So we build a minimal custom chain: "chainstart" at block 0 carrying our fork
// hash, plus (if --fork-next > 0) a "homestead" transition at that block/time.
// Without --fork-hash the hash is computed from the genesis hash, i.e.
// CRC32(genesis) for the current fork as EIP-2124 says for a chain without
// past forks.

const hardforks = [{ name: 'chainstart', block: 0, forkHash: forkHashArg ?? null }]
if (forkNext > 0n) hardforks.push({ name: 'homestead', block: Number(forkNext), forkHash: null })
const common = new Common({
  chain: {
    ...Mainnet,
    name: 'ethp2p-interop',
    chainId: networkId.toString(),
    defaultHardfork: 'chainstart',
    hardforks,
    bootstrapNodes: [],
    dnsNetworks: [],
  },
  hardfork: 'chainstart',
})
if (forkHashArg === undefined) common.setForkHashes(genesisHash)

// ------------------------------------------------------ library patches ---

const ETH_NAMES = {
  0x00: 'Status',
  0x01: 'NewBlockHashes',
  0x02: 'Transactions',
  0x03: 'GetBlockHeaders',
  0x04: 'BlockHeaders',
  0x05: 'GetBlockBodies',
  0x06: 'BlockBodies',
  0x07: 'NewBlock',
  0x08: 'NewPooledTransactionHashes',
  0x09: 'GetPooledTransactions',
  0x0a: 'PooledTransactions',
  0x0d: 'GetNodeData',
  0x0e: 'NodeData',
  0x0f: 'GetReceipts',
  0x10: 'Receipts',
}
// Messages that carry a request id as first list element from eth/66 on.
const REQ_ID_CODES = new Set([0x03, 0x04, 0x05, 0x06, 0x09, 0x0a, 0x0d, 0x0e, 0x0f, 0x10])

const peerIdHex = (peer) => {
  const id = peer.getId()
  return id ? bytesToUnprefixedHex(id) : null
}

// Raw view on every eth message (after snappy decompression, before the
// library's own decoding / validation / filtering).
const origEthHandle = ETH.prototype._handleMessage
ETH.prototype._handleMessage = function (code, data) {
  try {
    reportEthMessage(this, code, data)
  } catch (err) {
    emitError(`cannot decode eth message code ${code}: ${err?.message ?? err}`, {
      code,
      raw: bytesToHex(data),
    })
  }
  return origEthHandle.call(this, code, data)
}

function reportEthMessage(eth, code, data) {
  const peer = eth._peer
  const version = eth.getVersion()
  const payload = RLP.decode(data)
  if (code === 0x00) {
    const s = payload
    const out = {
      event: 'status',
      peer: peerIdHex(peer),
      version: bytesToNum(s[0]),
      networkId: bytesToNum(s[1]),
      td: bytesToBigInt(s[2]).toString(),
      bestHash: bytesToHex(s[3]),
      genesis: bytesToHex(s[4]),
    }
    if (Array.isArray(s[5])) out.forkId = [bytesToHex(s[5][0]), bytesToNum(s[5][1])]
    emit(out)
    return
  }
  const out = {
    event: 'message',
    peer: peerIdHex(peer),
    code,
    name: ETH_NAMES[code] ?? 'Unknown',
    reqId: null,
    payload: bytesToHex(data),
  }
  let body = payload
  if (version >= 66 && REQ_ID_CODES.has(code) && Array.isArray(payload)) {
    out.reqId = bytesToBigInt(payload[0]).toString()
    body = payload[1]
  }
  if (code === 0x03 && Array.isArray(body)) {
    const start = body[0]
    out.request = {
      start: start.length === 32 ? bytesToHex(start) : bytesToNum(start),
      max: bytesToNum(body[1]),
      skip: bytesToNum(body[2]),
      reverse: bytesToBigInt(body[3]) !== 0n,
    }
  } else if (code === 0x04 && Array.isArray(body)) {
    out.headers = body.map((h) => bytesToHex(RLP.encode(h)))
  } else if ((code === 0x02 || code === 0x0a) && Array.isArray(body)) {
    // Transactions / PooledTransactions: each item's EIP-2718 bytes and the
    // hash computed here (Keccak-256 of those bytes).
    out.txs = body.map((item) => {
      const raw = txRaw(item)
      return { hash: bytesToHex(keccak256(raw)), raw: bytesToHex(raw) }
    })
  } else {
    out.decoded = toJson(body)
  }
  emit(out)
}

// snap (with --snap): every snap message is reported as a `snap` event; a
// request is answered at once with the answer of a peer without state (empty
// range and proof, no codes, no trie nodes), with the request's id.
const SNAP_NAMES = ['GetAccountRange', 'AccountRange', 'GetStorageRanges', 'StorageRanges',
  'GetByteCodes', 'ByteCodes', 'GetTrieNodes', 'TrieNodes']
const origSnapHandle = SNAP.prototype._handleMessage
SNAP.prototype._handleMessage = function (code, data) {
  try {
    const payload = RLP.decode(data)
    const reqId = Array.isArray(payload) && payload.length > 0 ? bytesToBigInt(payload[0]) : null
    emit({
      event: 'snap',
      peer: peerIdHex(this._peer),
      code,
      name: SNAP_NAMES[code] ?? 'Unknown',
      reqId: reqId === null ? null : reqId.toString(),
      payload: bytesToHex(data),
      decoded: toJson(Array.isArray(payload) ? payload.slice(1) : payload),
    })
    if (reqId !== null && code % 2 === 0 && code <= 6) {
      const empty = code === 0x00 || code === 0x02 ? [reqId, [], []] : [reqId, []]
      this.sendMessage(code + 1, empty)
    }
  } catch (err) {
    emitError(`cannot handle snap message code ${code}: ${err?.message ?? err}`, {
      code,
      raw: bytesToHex(data),
    })
  }
  return origSnapHandle.call(this, code, data)
}

// ------------------------------------------------------------- tx pool ---
//
// Transactions added with the addTxs command, by hash (Keccak-256 of their
// EIP-2718 bytes). While the pool is not empty, every GetPooledTransactions
// is answered from it (the hashes we hold, in the order asked).

const pool = new Map() // hash hex -> EIP-2718 bytes

// A list item of Transactions/PooledTransactions -> EIP-2718 bytes: a legacy
// transaction is an RLP list (its encoding), a typed one an RLP string.
function txRaw(item) {
  return Array.isArray(item) ? RLP.encode(item) : item
}

// EIP-2718 bytes -> the list item carrying them.
function txItem(raw) {
  return raw[0] >= 0xc0 ? RLP.decode(raw) : raw
}

// The type an announcement gives: the first byte of a typed transaction, 0
// for a legacy list.
const txType = (raw) => (raw[0] >= 0xc0 ? 0 : raw[0])

function servePooled(eth, data) {
  if (pool.size === 0) return
  const payload = RLP.decode(data)
  const reqId = eth.getVersion() >= 66 ? payload[0] : undefined
  const hashes = eth.getVersion() >= 66 ? payload[1] : payload
  const found = []
  for (const h of hashes) {
    const raw = pool.get(bytesToHex(h))
    if (raw !== undefined) found.push(raw)
  }
  const items = found.map(txItem)
  eth.sendMessage(0x0a, reqId !== undefined ? [reqId, items] : items)
  emit({
    event: 'served',
    peer: peerIdHex(eth._peer),
    reqId: reqId === undefined ? null : bytesToBigInt(reqId).toString(),
    hashes: found.map((raw) => bytesToHex(keccak256(raw))),
  })
}

const origEthHandle2 = ETH.prototype._handleMessage
ETH.prototype._handleMessage = function (code, data) {
  const r = origEthHandle2.call(this, code, data)
  if (code === 0x09) {
    try {
      servePooled(this, data)
    } catch (err) {
      emitError(`serving GetPooledTransactions: ${err?.message ?? err}`)
    }
  }
  return r
}

// devp2p Ping/Pong are handled inside the library (it answers every Ping with
// a Pong and only clears a timer on Pong); hook them to make them observable.
const origHandlePing = Peer.prototype._handlePing
Peer.prototype._handlePing = function () {
  emit({ event: 'ping', peer: peerIdHex(this) })
  return origHandlePing.call(this)
}
const origHandlePong = Peer.prototype._handlePong
Peer.prototype._handlePong = function () {
  emit({ event: 'pong', peer: peerIdHex(this) })
  return origHandlePong.call(this)
}

// One disconnect event per socket, with exactly what the library recorded
// (the same values it passes to the 'peer:removed' event).
const origSocketClose = Peer.prototype._onSocketClose
Peer.prototype._onSocketClose = function () {
  const r = origSocketClose.call(this)
  const reason = this._disconnectReason ?? null
  emit({
    event: 'disconnect',
    peer: peerIdHex(this),
    reason,
    reasonName: reason === null ? null : (DisconnectReasonNames[reason] ?? null),
    initiatedByUs: this._disconnectWe,
    helloDone: this._connected,
  })
  if (current === this) current = null
  return r
}

// ------------------------------------------------------------------ rlpx ---

const rlpx = new RLPx(privateKey, {
  dpt: null,
  maxPeers: Number(args['max-peers']),
  capabilities,
  common,
  listenPort: null,
  ...(args['client-id'] !== undefined ? { clientId: new TextEncoder().encode(args['client-id']) } : {}),
})
const localId = bytesToUnprefixedHex(rlpx.id)

// TCP_NODELAY: every socket (accepted or dialed) goes through _onConnect
// before the library writes anything to it (auth is sent from the Peer
// constructor), so set it there.
const origOnConnect = rlpx._onConnect.bind(rlpx)
rlpx._onConnect = (socket, peerId) => {
  socket.setNoDelay(true)
  return origOnConnect(socket, peerId)
}

let current = null // the most recently connected Peer

rlpx.events.on('peer:added', (peer) => {
  current = peer
  const hello = peer.getHelloMessage()
  const eth = peer.getProtocols().find((p) => p instanceof ETH)
  const snap = peer.getProtocols().find((p) => p instanceof SNAP)
  emit({
    event: 'peer',
    id: peerIdHex(peer),
    clientId: hello.clientId,
    caps: hello.capabilities.map((c) => `${c.name}/${c.version}`),
    protocolVersion: hello.protocolVersion,
    port: hello.port,
    ethVersion: eth ? eth.getVersion() : null,
    snapVersion: snap ? snap.getVersion() : null,
  })
  if (!eth) return
  try {
    eth.sendStatus({ td: bigIntToUnpaddedBytes(td), bestHash, genesisHash })
  } catch (err) {
    // sendStatus() validates the remote Status too when that one arrived first;
    // the library does not catch that itself, so react like it does for a bad
    // Status that arrives second: disconnect with SUBPROTOCOL_ERROR.
    emitError(err?.message ?? err, { peer: peerIdHex(peer) })
    peer.disconnect(DISCONNECT_REASON.SUBPROTOCOL_ERROR)
  }
})

rlpx.events.on('peer:error', (peer, err) => {
  emitError(err?.message ?? err, { peer: peerIdHex(peer) })
})
rlpx.events.on('error', (err) => emitError(err?.message ?? err))

rlpx.events.once('listening', () => {
  const port = rlpx._server.address().port
  rlpx._listenPort = port // advertised in our Hello
  emit({ event: 'ready', enode: `enode://${localId}@${args.host}:${port}`, id: localId, port })
  if (mode === 'dial') dial(args.remote)
})

function dial(enode) {
  const m = /^enode:\/\/([0-9a-fA-F]{128})@([^:]+|\[[^\]]+\]):(\d+)(\?.*)?$/.exec(enode)
  if (!m) return emitError(`bad enode: ${enode}`)
  const address = m[2].replace(/^\[|\]$/g, '')
  rlpx
    .connect({ id: hexToBytes('0x' + m[1]), address, tcpPort: Number(m[3]) })
    .catch((err) => emitError(`dial failed: ${err?.message ?? err}`))
}

rlpx.listen(Number(args.port), args.host)

// -------------------------------------------------------------- commands ---

function needPeer() {
  if (current === null) throw new Error('no connected peer')
  return current
}

function needEth() {
  const eth = needPeer()
    .getProtocols()
    .find((p) => p instanceof ETH)
  if (!eth) throw new Error('peer has no eth protocol')
  return eth
}

const withReqId = (eth, reqId, body) =>
  eth.getVersion() >= 66 ? [BigInt(reqId ?? 0), body] : body

const commands = {
  getBlockHeaders(c) {
    const eth = needEth()
    const start =
      typeof c.start === 'string' && c.start.startsWith('0x') && c.start.length === 66
        ? hexToBytes(c.start)
        : BigInt(c.start ?? 0)
    const body = [start, BigInt(c.max ?? 1), BigInt(c.skip ?? 0), c.reverse ? 1 : 0]
    eth.sendMessage(0x03, withReqId(eth, c.reqId, body))
  },
  blockHeaders(c) {
    const eth = needEth()
    const headers = (c.headers ?? []).map((h) => RLP.decode(hexToBytes(h)))
    eth.sendMessage(0x04, withReqId(eth, c.reqId, headers))
  },
  // Generic escape hatch: {"cmd":"send","code":n,"payload":"0x<rlp>"}
  send(c) {
    const eth = needEth()
    eth.sendMessage(Number(c.code), RLP.decode(hexToBytes(c.payload)))
  },
  // {"cmd":"snap","code":n,"payload":"0x<rlp>"}: a snap message (with --snap).
  snap(c) {
    const snap = needPeer()
      .getProtocols()
      .find((p) => p instanceof SNAP)
    if (!snap) throw new Error('peer has no snap protocol')
    snap.sendMessage(Number(c.code), RLP.decode(hexToBytes(c.payload)))
  },
  // Test hook: {"cmd":"rawFrame","code":n,"data":"0x.."} sends one RLPx frame
  // with absolute message id `code` and `data` exactly as given (no RLP
  // wrapping, no snappy), e.g. to try Disconnect encodings.
  rawFrame(c) {
    needPeer()._sendMessage(Number(c.code), hexToBytes(c.data ?? '0x'))
  },
  // {"cmd":"addTxs","txs":["0x<EIP-2718 bytes>",...]}: into the pool; emits
  // `pooled {hashes}` with the hashes computed here.
  addTxs(c) {
    const hashes = []
    for (const t of c.txs ?? []) {
      const raw = hexToBytes(hex(t, undefined, 'txs[]'))
      const h = bytesToHex(keccak256(raw))
      pool.set(h, raw)
      hashes.push(h)
    }
    emit({ event: 'pooled', hashes })
  },
  // {"cmd":"announceTxs","hashes":["0x.."]?}: NewPooledTransactionHashes for
  // those pool transactions (all when absent): eth/68 [types, sizes, hashes],
  // before eth/68 the hashes alone.
  announceTxs(c) {
    const eth = needEth()
    const hashes = c.hashes ?? [...pool.keys()]
    const raws = hashes.map((h) => {
      const raw = pool.get(h.toLowerCase())
      if (raw === undefined) throw new Error(`${h} is not in the pool`)
      return raw
    })
    const hs = hashes.map((h) => hexToBytes(h))
    if (eth.getVersion() >= 68) {
      const types = Uint8Array.from(raws.map(txType))
      eth.sendMessage(0x08, [types, raws.map((r) => BigInt(r.length)), hs])
    } else {
      eth.sendMessage(0x08, hs)
    }
  },
  ping() {
    needPeer()._sendPing()
  },
  disconnect(c) {
    needPeer().disconnect(c.reason ?? DISCONNECT_REASON.DISCONNECT_REQUESTED)
  },
  exit(c) {
    shutdown(c.code ?? 0)
  },
}

let exiting = false
function shutdown(code) {
  if (exiting) return
  exiting = true
  try {
    // Sends Disconnect(CLIENT_QUITTING) to every connected peer.
    rlpx.destroy()
  } catch {}
  // Give the Disconnect frame a moment to leave.
  setTimeout(() => process.exit(code), 200)
}

const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  if (line.trim() === '') return
  let c
  try {
    c = JSON.parse(line)
  } catch (err) {
    return emitError(`bad command JSON: ${err.message}`)
  }
  const f = commands[c.cmd]
  if (!f) return emitError(`unknown command ${c.cmd}`)
  try {
    f(c)
  } catch (err) {
    emitError(`${c.cmd}: ${err?.message ?? err}`)
  }
})
rl.on('close', () => shutdown(0))
process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))
process.on('uncaughtException', (err) => emitError(`uncaught: ${err?.stack ?? err}`))
