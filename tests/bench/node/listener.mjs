// listener.mjs: the official openai client against two OpenAI endpoints
// serving the same reply, the backend double directly and parley serve in
// front of it. Every reply is checked against EXPECTED_FILE. One JSON line
// on stdout.
//
//   node listener.mjs latency DIRECT_URL PARLEY_URL MODEL EXPECTED_FILE N
//     N non-streamed requests to each, one at a time, alternating between
//     the two (one keep-alive client each) after a warm-up of 10 each;
//     prints p50/p99 of each in ms.
//   node listener.mjs concurrent URL MODEL EXPECTED_FILE N
//     N streamed requests at once; prints how many ended with the whole
//     reply and the wall time in ms.
//
// Each request opens a conversation of its own (a unique first message),
// so the listener stores one new session per request.
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';

const [mode, ...args] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const tag = `${process.pid}-${Date.now()}`;
let seq = 0;
const message = () => [{ role: 'user', content: `bench ${tag} request ${seq++}` }];
const client = (baseURL) => new OpenAI({ baseURL, apiKey: 'none', maxRetries: 0 });

function pct(v, p) {
	const s = [...v].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function once(c, model, expected) {
	const t0 = now();
	const r = await c.chat.completions.create({ model, messages: message() });
	const ms = now() - t0;
	if (r.choices[0]?.message?.content !== expected)
		throw new Error(`a reply was not the whole text (${r.choices[0]?.message?.content?.length} chars)`);
	return ms;
}

async function streamed(c, model, expected) {
	let text = '';
	try {
		const s = await c.chat.completions.create({ model, messages: message(), stream: true });
		for await (const chunk of s) text += chunk.choices[0]?.delta?.content ?? '';
	} catch (e) {
		process.stderr.write(`listener.mjs: ${e.message}\n`);
		return false;
	}
	return text === expected;
}

if (mode === 'latency') {
	const [direct, parley, model, file, n] = args;
	const expected = readFileSync(file, 'utf8');
	const cd = client(direct), cp = client(parley);
	for (let i = 0; i < 10; i++) {
		await once(cd, model, expected);
		await once(cp, model, expected);
	}
	const d = [], p = [];
	for (let i = 0; i < Number(n); i++) {
		d.push(await once(cd, model, expected));
		p.push(await once(cp, model, expected));
	}
	console.log(JSON.stringify({ direct_p50: pct(d, 50), direct_p99: pct(d, 99), parley_p50: pct(p, 50),
		parley_p99: pct(p, 99), n: Number(n) }));
} else if (mode === 'concurrent') {
	const [url, model, file, n] = args;
	const expected = readFileSync(file, 'utf8');
	const c = client(url);
	await streamed(c, model, expected); // connect and warm up
	const t0 = now();
	const ok = await Promise.all(Array.from({ length: Number(n) }, () => streamed(c, model, expected)));
	const ms = now() - t0;
	console.log(JSON.stringify({ complete: ok.filter(Boolean).length, n: Number(n), ms, rps: (Number(n) * 1000) / ms }));
} else {
	process.stderr.write('usage: listener.mjs latency|concurrent ...\n');
	process.exit(2);
}
