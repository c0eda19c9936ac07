// mcp_direct.mjs SERVER_JS N: the baseline of bench rows 7: an MCP client
// written against the wire directly (no SDK) that starts server-everything
// over stdio, initialises and lists its tools (start-to-ready), then makes
// N sequential echo calls, timing each. Prints one JSON line:
// {"ready_ms": ..., "us": [...]}.
import { spawn } from 'node:child_process';

const [serverJs, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 100);
const t0 = process.hrtime.bigint();
const child = spawn('node', [serverJs, 'stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
let buf = '';
let nextId = 0;
const waiting = new Map();
child.stdout.setEncoding('utf8');
child.stdout.on('data', (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const msg = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    if (msg.id !== undefined && waiting.has(msg.id)) {
      const k = waiting.get(msg.id);
      waiting.delete(msg.id);
      k(msg);
    }
  }
});
const request = (method, params) => new Promise((resolve) => {
  const id = ++nextId;
  waiting.set(id, resolve);
  child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
});

await request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
await request('tools/list', {});
const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
const us = [];
for (let i = 0; i < n; i++) {
  const s = process.hrtime.bigint();
  await request('tools/call', { name: 'echo', arguments: { message: 'hi' } });
  us.push(Number(process.hrtime.bigint() - s) / 1e3);
}
process.stdout.write(JSON.stringify({ ready_ms: readyMs, us }) + '\n');
child.stdin.end();
