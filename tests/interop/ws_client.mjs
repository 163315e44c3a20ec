// An independent WebSocket client (the npm `ws` package) against a fastnet
// echo server: text, binary from 1 B to 16 MiB, ping/pong and the close
// handshake, every byte compared. Exits 0 when every exchange matched.
//   node ws_client.mjs ws://127.0.0.1:PORT/
//   node ws_client.mjs wss://HOST:PORT/ CA_FILE
// Over wss:// only CA_FILE is trusted and the certificate must name HOST.
import fs from 'node:fs';
import { WebSocket } from 'ws';
import { pattern } from './pattern.mjs';

const url = process.argv[2];
const ca = process.argv[3] ? fs.readFileSync(process.argv[3]) : undefined;
const MiB = 1 << 20;
const binary_sizes = [1, 2, 125, 126, 127, 65535, 65536, 65537, MiB + 7, 16 * MiB];

function fail(why) {
  console.error(`ws_client.mjs: FAIL: ${why}`);
  process.exit(1);
}

const ws = new WebSocket(url, { maxPayload: 64 * MiB, perMessageDeflate: false, ca });
// Messages arrive in order; each exchange waits for the next one.
const inbox = [];
let waiting = null;
ws.on('message', (data, is_binary) => {
  inbox.push({ data, is_binary });
  if (waiting) { const w = waiting; waiting = null; w(); }
});
ws.on('error', (e) => fail(`socket error: ${e.message}`));
const next = async () => {
  while (inbox.length === 0) await new Promise((r) => { waiting = r; });
  return inbox.shift();
};

async function expect_echo(payload, binary, name) {
  ws.send(payload, { binary });
  const m = await next();
  if (m.is_binary !== binary) fail(`${name}: kind ${m.is_binary ? 'binary' : 'text'}`);
  const want = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  if (!want.equals(m.data)) fail(`${name}: ${m.data.length} bytes differ from the ${want.length} sent`);
  console.log(`ok ${name}`);
}

ws.on('upgrade', (res) => {
  const s = res.socket;
  if (!s.encrypted) return;
  // ws refuses an unverified chain or name before this (rejectUnauthorized).
  if (!s.authorized) fail(`the server certificate was not verified: ${s.authorizationError}`);
  console.log(`ok wss handshake ${s.getProtocol()}, server verified`);
});
ws.on('open', async () => {
  await expect_echo('hello', false, 'text "hello"');
  await expect_echo('', false, 'empty text');
  await expect_echo('h\u00e9llo w\u00f6rld \u2713 \u{1F680}', false, 'utf-8 text');
  await expect_echo('x'.repeat(100000), false, 'text 100000 B');
  let seed = 1;
  for (const size of binary_sizes) await expect_echo(pattern(size, seed++), true, `binary ${size} B`);

  const ping_payload = Buffer.from('are you there?');
  ws.ping(ping_payload);
  const pong = await new Promise((r) => ws.once('pong', r));
  if (!pong.equals(ping_payload)) fail(`pong payload ${pong.toString()}`);
  console.log('ok ping/pong');

  ws.close(4000, 'bye');
  const [code, reason] = await new Promise((r) => ws.once('close', (c, why) => r([c, why])));
  if (code !== 4000) fail(`close code ${code} (reason "${reason}")`);
  console.log(`ok close ${code}`);
  if (inbox.length !== 0) fail(`${inbox.length} unexpected messages`);
  console.log('ws_client.mjs: all exchanges verified');
  process.exit(0);
});
