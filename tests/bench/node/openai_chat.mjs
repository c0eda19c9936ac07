// openai_chat.mjs BASE_URL MODEL: one streamed chat completion through the
// official openai client, each content delta printed as it arrives.
import OpenAI from 'openai';

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: process.env.OPENAI_API_KEY || 'none' });
const stream = await client.chat.completions.create({
	model,
	messages: [{ role: 'user', content: 'hi' }],
	stream: true,
});
for await (const chunk of stream)
	process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
