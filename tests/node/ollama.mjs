// The official ollama npm client against a running parley serve. Prints one
// line a check: "ok<TAB>name" or "not ok<TAB>name<TAB>detail"; the shell
// side (listener_ollama.sh) turns them into TAP.
//   PARLEY_URL        serve over an Ollama double that echoes
//   PARLEY_TOOLS_URL  serve over one whose replies are tool calls
//   PARLEY_ERR_URL    serve over one that fails after two tokens
//   PARLEY_LMS_URL    serve over an LM Studio double that echoes
import { Ollama } from 'ollama';

const client = new Ollama({ host: process.env.PARLEY_URL });
const tools = new Ollama({ host: process.env.PARLEY_TOOLS_URL });
const failing = new Ollama({ host: process.env.PARLEY_ERR_URL });
const lms = new Ollama({ host: process.env.PARLEY_LMS_URL });

function report(name, pass, detail) {
  console.log(pass ? `ok\t${name}` : `not ok\t${name}\t${String(detail).replace(/\s+/g, ' ')}`);
}

async function check(name, fn) {
  try {
    const detail = await fn();
    report(name, detail === undefined, detail);
  } catch (e) {
    report(name, false, `${e.constructor.name}: ${e.message}`);
  }
}

const eq = (want, got) => (JSON.stringify(want) === JSON.stringify(got) ? undefined : `want ${JSON.stringify(want)} got ${JSON.stringify(got)}`);

// what a call that must fail threw: [status or null, message]
async function failure(fn) {
  try {
    await fn();
  } catch (e) {
    return [e.status_code ?? null, e.message];
  }
  return ['no error', ''];
}

await check('version', async () => eq(true, /^\d+\.\d+\.\d+$/.test((await client.version()).version)));

await check('list', async () => {
  const r = await client.list();
  const names = r.models.map((m) => m.name);
  return eq([true, 'llama', true],
    [names.includes('llama3.2:latest') && names.includes('nomic-embed-text:latest'), r.models[0].details.family, r.models.every((m) => /^[0-9a-f]{64}$/.test(m.digest))]);
});

await check('ps', async () => eq(['llama3.2:latest'], (await client.ps()).models.map((m) => m.name)));

await check('show', async () => {
  const r = await client.show({ model: 'llama3.2' });
  return eq(['llama', 131072, true], [r.details.family, r.model_info['llama.context_length'], r.capabilities.includes('tools')]);
});

await check('chat, not streamed', async () => {
  const r = await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
  return eq(['assistant', 'echo: hi', true, 'stop', true],
    [r.message.role, r.message.content, r.done, r.done_reason, r.eval_count > 0 && r.prompt_eval_count > 0]);
});

await check('chat, streamed', async () => {
  const stream = await client.chat({
    model: 'llama3.2', stream: true,
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'stream this please' }],
  });
  let text = '', parts = 0, last = null;
  for await (const part of stream) {
    parts++;
    text += part.message.content;
    last = part;
  }
  return eq(['echo: stream this please', true, 'stop', true],
    [text, last.done, last.done_reason, parts > 3 && last.total_duration > 0]);
});

await check('chat, a conversation continued', async () => {
  const messages = [{ role: 'user', content: 'first turn' }];
  const a = await client.chat({ model: 'llama3.2', messages });
  messages.push(a.message, { role: 'user', content: 'second turn' });
  const b = await client.chat({ model: 'llama3.2', messages });
  return eq(['echo: first turn', 'echo: second turn'], [a.message.content, b.message.content]);
});

await check('generate, not streamed', async () => {
  const r = await client.generate({ model: 'llama3.2', prompt: 'why is the sky blue', system: 'answer briefly' });
  return eq(['echo: why is the sky blue', true, 'stop'], [r.response, r.done, r.done_reason]);
});

await check('generate, streamed', async () => {
  let text = '', done = false;
  for await (const part of await client.generate({ model: 'llama3.2', prompt: 'count to three', stream: true })) {
    text += part.response;
    done = part.done;
  }
  return eq(['echo: count to three', true], [text, done]);
});

await check('chat with tools: the call comes whole, arguments an object', async () => {
  const r = await tools.chat({
    model: 'llama3.2', messages: [{ role: 'user', content: 'weather in Tokyo?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
  });
  const c = r.message.tool_calls?.[0]?.function;
  return eq(['get_weather', { city: 'Tokyo' }, 1], [c?.name, c?.arguments, r.message.tool_calls?.length]);
});

await check('chat with tools, streamed, then the result sent back', async () => {
  const messages = [{ role: 'user', content: 'weather in Tokyo?' }];
  const toolsDef = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  let call = null;
  for await (const part of await tools.chat({ model: 'llama3.2', messages, tools: toolsDef, stream: true })) {
    if (part.message.tool_calls) call = part.message.tool_calls[0];
  }
  messages.push({ role: 'assistant', content: '', tool_calls: [call] }, { role: 'tool', content: '{"temp":21}', tool_name: 'get_weather' });
  const again = await tools.chat({ model: 'llama3.2', messages, tools: toolsDef });
  return eq(['get_weather', { city: 'Tokyo' }, true], [call?.function.name, call?.function.arguments, again.done]);
});

await check('embed: one vector per input, in order', async () => {
  const r = await client.embed({ model: 'nomic-embed-text', input: ['a', 'bbb'] });
  return eq(['nomic-embed-text', 2, [1, 3]], [r.model, r.embeddings.length, r.embeddings.map((v) => v[0])]);
});

await check('embeddings (the older call)', async () => {
  const r = await client.embeddings({ model: 'nomic-embed-text', prompt: 'hello' });
  return eq([5, 4], [r.embedding[0], r.embedding.length]);
});

await check('pull, streamed: progress passed through, then success', async () => {
  const statuses = [];
  let bytes = false;
  for await (const p of await client.pull({ model: 'tinyllama', stream: true })) {
    statuses.push(p.status);
    if (p.total > 0 && p.completed === p.total) bytes = true;
  }
  return eq(['pulling manifest', 'success', true], [statuses[0], statuses[statuses.length - 1], bytes]);
});

await check('pull, not streamed; the model is then listed', async () => {
  const r = await client.pull({ model: 'phi3' });
  const names = (await client.list()).models.map((m) => m.name);
  return eq(['success', true], [r.status, names.includes('phi3:latest')]);
});

await check('an unknown model: ResponseError 404 with Ollama\'s words', async () =>
  eq([404, 'model "nope" not found, try pulling it first'],
    await failure(() => client.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }))));

await check('a bad request: 400 naming the field', async () => {
  const [status, msg] = await failure(() => client.chat({ model: 'llama3.2', messages: [{ role: 'robot', content: 'x' }] }));
  return eq([400, true], [status, msg.includes('messages[0].role')]);
});

await check('an error mid-stream ends the stream with the backend\'s words', async () => {
  let text = '';
  const [, msg] = await failure(async () => {
    for await (const p of await failing.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: true }))
      text += p.message.content;
  });
  return eq(['one two ', true], [text, msg.includes('out of memory')]);
});

await check('lm studio behind: list, chat and embed in Ollama\'s shapes', async () => {
  const names = (await lms.list()).models.map((m) => m.name);
  const r = await lms.chat({ model: 'qwen3-8b', messages: [{ role: 'user', content: 'hi' }] });
  const e = await lms.embed({ model: 'text-embedding-nomic', input: 'abcd' });
  return eq([['qwen3-8b', 'text-embedding-nomic'], 'echo: hi', [4]], [names, r.message.content, e.embeddings.map((v) => v[0])]);
});

await check('lm studio behind: pull is refused with 501', async () => {
  const [status, msg] = await failure(() => lms.pull({ model: 'tinyllama' }));
  return eq([501, true], [status, msg.includes('LM Studio')]);
});
