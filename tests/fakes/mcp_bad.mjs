// mcp_bad.mjs: an MCP server over stdio that misbehaves on purpose, for
// tests/integration/tools.sh. No dependencies: JSON-RPC by hand, one
// message a line (mcp.md 2).
//
//   node mcp_bad.mjs [--log FILE] [--list-delay MS] [--garbage] [--exit-at-start]
//
// It lists its tools in two pages (nextCursor), after --list-delay ms.
// Tools: ok (answers "fine"), huge (3 MiB of text), hang (never answers,
// notes a notifications/cancelled), die (exits mid-call), fail (isError),
// rpcfail (a JSON-RPC error), grow (adds a tool and sends
// tools/list_changed), ask (sends the client ping, roots/list and
// sampling/createMessage first, answers what the client said).
// --garbage writes junk lines to stdout before every answer. Every line
// parley sends is appended to --log.
import { appendFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const log = opt('--log');
const listDelay = Number(opt('--list-delay') ?? 0);
const garbage = argv.includes('--garbage');

if (argv.includes('--exit-at-start')) {
  process.stderr.write('mcp_bad: refusing to start\n');
  process.exit(3);
}

const send = (o) => {
  if (garbage) process.stdout.write('this is not JSON\n{"half":\n');
  process.stdout.write(JSON.stringify(o) + '\n');
};
const tool = (name, description, extra = {}) => ({
  name, description, inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: {} }, ...extra,
});
const tools = [
  tool('ok', 'answers fine', { annotations: { readOnlyHint: true } }),
  tool('huge', 'a 3 MiB answer'),
  tool('hang', 'never answers'),
  tool('die', 'exits while running', { annotations: { destructiveHint: true } }),
  tool('fail', 'reports a failure'),
  tool('rpcfail', 'a protocol error'),
  tool('grow', 'adds a tool'),
  tool('ask', 'asks the client things first'),
];
let myId = 100;
const waiting = new Map(); // my request id -> what to do with the answer
let asked = [];

function onCall(id, name) {
  switch (name) {
  case 'ok': send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'fine' }] } }); break;
  case 'huge': send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'x'.repeat(3 << 20) }] } }); break;
  case 'hang': break;
  case 'die': process.stderr.write('mcp_bad: dying mid-call\n'); process.exit(7); break;
  case 'fail': send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'the disk is on fire' }], isError: true } }); break;
  case 'rpcfail': send({ jsonrpc: '2.0', id, error: { code: -32603, message: 'internal trouble' } }); break;
  case 'grow':
    if (!tools.find((t) => t.name === 'grown')) tools.push(tool('grown', 'appeared later'));
    send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'grew' }] } });
    break;
  case 'ask':
    asked = [];
    for (const method of ['ping', 'roots/list', 'sampling/createMessage']) {
      const rid = ++myId;
      waiting.set(rid, (msg) => {
        asked.push({ method, answer: msg.result ?? msg.error });
        if (asked.length === 3) send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: JSON.stringify(asked) }] } });
      });
      send({ jsonrpc: '2.0', id: rid, method, params: method === 'sampling/createMessage' ? { messages: [], maxTokens: 5 } : undefined });
    }
    break;
  default: send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `no tool ${name}` }], isError: true } });
  }
}

function onMessage(msg) {
  if (msg.method === undefined && waiting.has(msg.id)) {
    const k = waiting.get(msg.id); waiting.delete(msg.id); k(msg); return;
  }
  switch (msg.method) {
  case 'initialize':
    send({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: msg.params.protocolVersion, capabilities: { tools: { listChanged: true } }, serverInfo: { name: 'mcp_bad', version: '1.0' } } });
    break;
  case 'tools/list': {
    const page = msg.params?.cursor === 'page2' ? tools.slice(4) : tools.slice(0, 4);
    const result = { tools: page };
    if (msg.params?.cursor !== 'page2') result.nextCursor = 'page2';
    setTimeout(() => send({ jsonrpc: '2.0', id: msg.id, result }), listDelay);
    break;
  }
  case 'tools/call': onCall(msg.id, msg.params.name); break;
  case 'ping': send({ jsonrpc: '2.0', id: msg.id, result: {} }); break;
  default:
    if (msg.id !== undefined && msg.method !== undefined) send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } });
  }
}

let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl); buf = buf.slice(nl + 1);
    if (log) appendFileSync(log, line + '\n');
    try { onMessage(JSON.parse(line)); } catch (e) { process.stderr.write(`mcp_bad: bad line: ${e}\n`); }
  }
});
process.stdin.on('end', () => process.exit(0));
