// ollama_chat.mjs URL MODEL: one streamed chat through the official ollama
// client, each token printed as it arrives (what a chat CLI built on it does).
import { Ollama } from 'ollama';

const [host, model] = process.argv.slice(2);
const client = new Ollama({ host });
const stream = await client.chat({
	model,
	messages: [{ role: 'user', content: 'hi' }],
	stream: true,
});
for await (const part of stream)
	process.stdout.write(part.message.content);
