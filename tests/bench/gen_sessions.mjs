// gen_sessions.mjs DIR COUNT MESSAGES [CHARS]: writes COUNT session exports
// (parley's import format) of MESSAGES messages each into DIR as 00000.json,
// ... The text is a deterministic word salad, so search has real words to
// find and every run builds the same store. With CHARS, one session whose
// messages add up to CHARS characters is written instead, as big.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, countArg, msgsArg, charsArg] = process.argv.slice(2);
const count = Number(countArg), msgs = Number(msgsArg);
const words = ('the a of to and in is it for on with as was at by an be this that from or ' +
	'model token stream reply prompt context memory session store search latency buffer ' +
	'socket parser kernel thread window screen cursor render frame terminal keyboard ' +
	'question answer reason example number string object array value system user ' +
	'assistant sky blue light water mountain river forest city bridge garden music').split(' ');
let seed = 12345;
const rand = (n) => {
	seed = (seed * 1103515245 + 12345) & 0x7fffffff;
	return seed % n;
};
const text = (len) => {
	const out = [];
	let n = 0;
	while (n < len) {
		const w = words[rand(words.length)];
		out.push(w);
		n += w.length + 1;
	}
	return out.join(' ');
};
const base = Date.UTC(2025, 0, 1);
const session = (i, n, each) => {
	const t0 = base + i * 60000;
	const messages = [];
	for (let m = 0; m < n; m++) {
		messages.push({
			role: m % 2 === 0 ? 'user' : 'assistant',
			content: text(each ? each : m % 2 === 0 ? 60 + rand(120) : 200 + rand(400)),
			state: 'complete',
			created: t0 + m * 1000,
			parent: m > 0 ? m - 1 : null,
		});
	}
	return {
		version: 1,
		session: {
			title: `bench ${i} ${text(30)}`, provider: 'ollama', model: 'bench',
			system: null, options: null, origin: 'pipe', created: t0, updated: t0 + n * 1000,
		},
		messages,
	};
};

mkdirSync(dir, { recursive: true });
if (charsArg) {
	writeFileSync(join(dir, 'big.json'), JSON.stringify(session(0, msgs, Math.ceil(Number(charsArg) / msgs))));
} else {
	for (let i = 0; i < count; i++)
		writeFileSync(join(dir, String(i).padStart(5, '0') + '.json'), JSON.stringify(session(i, msgs)));
}
