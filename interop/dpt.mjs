#!/usr/bin/env node
// discv4 interop peer for ethp2p: one @ethereumjs/devp2p 10.0.0 DPT
// (Ping/Pong/FindNode/Neighbours only, no EIP-868) on 127.0.0.1.
//
// Stdout: one JSON event per line: ready {id, port}, added {id, address,
// udpPort}, removed {id}, peers {peers: [{id, address, udpPort}]}, error
// {message}. Library output goes to stderr.
// Stdin: one JSON command per line: {"cmd":"bootstrap","address","udpPort"},
// {"cmd":"peers"}, {"cmd":"exit"} (EOF exits too).

for (const m of ['log', 'info', 'debug']) console[m] = (...a) => console.error(...a)

import dgram from 'node:dgram'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

import { DPT, genPrivateKey } from '@ethereumjs/devp2p'
import { bytesToUnprefixedHex, hexToBytes } from '@ethereumjs/util'

const { values: args } = parseArgs({
  options: {
    key: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    refresh: { type: 'string', default: '60000' },
  },
})

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const peerJson = (p) => ({
  id: p.id ? bytesToUnprefixedHex(p.id) : null,
  address: p.address,
  udpPort: p.udpPort,
})

// The DPT puts its endpoint into every Ping's `from`, so it needs the real
// port before it starts: find a free one when asked for port 0.
async function freePort(host) {
  const probe = dgram.createSocket('udp4')
  await new Promise((resolve) => probe.bind(0, host, resolve))
  const { port } = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  return port
}

const host = args.host
const port = Number(args.port) || (await freePort(host))
const key = args.key
  ? hexToBytes(args.key.startsWith('0x') ? args.key : `0x${args.key}`)
  : genPrivateKey()

const dpt = new DPT(key, {
  endpoint: { address: host, udpPort: port, tcpPort: port },
  refreshInterval: Number(args.refresh),
  shouldFindNeighbours: true,
  shouldGetDnsPeers: false,
})
dpt.events.on('error', (err) => console.error(`dpt error: ${err?.message ?? err}`))
dpt.events.on('peer:added', (p) => emit({ event: 'added', ...peerJson(p) }))
dpt.events.on('peer:removed', (p) => emit({ event: 'removed', ...peerJson(p) }))
dpt.events.once('listening', () => emit({ event: 'ready', id: bytesToUnprefixedHex(dpt.id), port }))
dpt.bind(port, host)

const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (e) {
    emit({ event: 'error', message: `bad command: ${e.message}` })
    return
  }
  switch (cmd.cmd) {
    case 'bootstrap':
      dpt.bootstrap({ address: cmd.address, udpPort: cmd.udpPort, tcpPort: cmd.udpPort })
      break
    case 'peers':
      emit({ event: 'peers', peers: dpt.getPeers().map(peerJson) })
      break
    case 'exit':
      dpt.destroy()
      process.exit(0)
      break
    default:
      emit({ event: 'error', message: `unknown command ${cmd.cmd}` })
  }
})
rl.on('close', () => {
  dpt.destroy()
  process.exit(0)
})
