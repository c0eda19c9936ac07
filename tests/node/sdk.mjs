// The official openai SDK against a running parley serve. Prints one line a
// check: "ok<TAB>name" or "not ok<TAB>name<TAB>detail"; the shell side turns
// them into TAP. PARLEY_URL serves an echo backend, PARLEY_TOOLS_URL one
// whose replies are tool calls.
import OpenAI from 'openai';

const base = process.env.PARLEY_URL;
const toolsBase = process.env.PARLEY_TOOLS_URL;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20000 });
const tools = new OpenAI({ baseURL: `${toolsBase}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20000 });

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

await check('models.list', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  return eq(['llama3.2:latest', 'qwen3:8b'], ids);
});

await check('models.retrieve', async () => eq('llama3.2', (await client.models.retrieve('llama3.2')).id));

await check('chat, not streamed, with usage', async () => {
  const r = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
  return eq(['echo: hi', 'stop', true], [r.choices[0].message.content, r.choices[0].finish_reason, r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens && r.usage.completion_tokens > 0]);
});

await check('chat, streamed, with finish and usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'llama3.2', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'stream this' }],
  });
  let text = '', finish = null, usage = null, chunks = 0;
  for await (const c of stream) {
    chunks++;
    if (c.choices.length > 0) {
      text += c.choices[0].delta.content ?? '';
      if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
    }
    if (c.usage) usage = c.usage;
  }
  return eq(['echo: stream this', 'stop', true], [text, finish, usage !== null && usage.total_tokens > 0 && chunks > 3]);
});

await check('stream helper: finalChatCompletion', async () => {
  const s = client.chat.completions.stream({ model: 'llama3.2', messages: [{ role: 'user', content: 'helper' }] });
  const final = await s.finalChatCompletion();
  return eq('echo: helper', final.choices[0].message.content);
});

await check('streamed tool call', async () => {
  const s = tools.chat.completions.stream({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'weather in Tokyo?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
  });
  const final = await s.finalChatCompletion();
  const call = final.choices[0].message.tool_calls?.[0];
  return eq(['tool_calls', 'call_k3x9a0qe', 'get_weather', { city: 'Tokyo' }],
    [final.choices[0].finish_reason, call?.id, call?.function.name, JSON.parse(call?.function.arguments ?? 'null')]);
});

await check('404 raises NotFoundError', async () => {
  try {
    await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] });
    return 'no error';
  } catch (e) {
    return eq([true, 404, 'model_not_found'], [e instanceof OpenAI.NotFoundError, e.status, e.code]);
  }
});

await check('404 streamed raises NotFoundError', async () => {
  try {
    const s = await client.chat.completions.create({ model: 'nope', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    for await (const _ of s);
    return 'no error';
  } catch (e) {
    return eq(true, e instanceof OpenAI.NotFoundError);
  }
});

await check('session binding by header', async () => {
  const bound = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0, defaultHeaders: { 'X-Session-Id': 'sdk-session' } });
  const { response } = await bound.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'first' }] }).withResponse();
  const header = response.headers.get('x-session-id');
  const r2 = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'second' }] },
    { headers: { 'X-Session-Id': 'sdk-session' } });
  const s = await (await fetch(`${base}/v1/sessions/sdk-session`)).json();
  return eq(['sdk-session', 'echo: second', ['first', 'echo: first', 'second', 'echo: second']],
    [header, r2.choices[0].message.content, s.messages.map((m) => m.content)]);
});
