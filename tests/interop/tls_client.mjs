// An independent TLS client (node's `tls` module, node's own OpenSSL) against
// fastnet's echo_server --tls-cert/--tls-key: trusts only the test CA,
// checks the server's name, and compares every echoed byte from 1 B to
// 16 MiB. Two peers end early:
//   - first, a client the server's certificate must not satisfy (a name it
//     lacks), which abandons its handshake;
//   - last, a client that writes and at once ends its side (close_notify +
//     FIN): the echo must still arrive before the server's end.
// Exits 0 when every exchange matched.
//   node tls_client.mjs PORT CA_FILE
import fs from 'node:fs';
import tls from 'node:tls';
import { pattern } from './pattern.mjs';

const port = Number(process.argv[2]);
const ca = fs.readFileSync(process.argv[3]);
const MiB = 1 << 20;
const sizes = [1, 2, 1000, 16384, 16385, 65537, MiB + 7, 16 * MiB];

function fail(why) {
  console.error(`tls_client.mjs: FAIL: ${why}`);
  process.exit(1);
}

// Connects to 127.0.0.1 and verifies the chain against the test CA and the
// certificate against `servername` (also sent as SNI).
function connect(servername) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

// Reads until `want` bytes arrived (or the peer ended), then compares.
function read_exactly(s, want, name) {
  return new Promise((resolve) => {
    const chunks = [];
    let got = 0;
    const on_data = (c) => {
      chunks.push(c);
      got += c.length;
      if (got > want.length) fail(`${name}: ${got} bytes back for ${want.length} sent`);
      if (got === want.length) done();
    };
    const on_end = () => fail(`${name}: the server ended after ${got} of ${want.length} bytes`);
    const done = () => {
      s.off('data', on_data);
      s.off('end', on_end);
      if (!Buffer.concat(chunks).equals(want)) fail(`${name}: the bytes echoed differ`);
      console.log(`ok ${name}`);
      resolve();
    };
    s.on('data', on_data);
    s.on('end', on_end);
  });
}

// The server's certificate names localhost and 127.0.0.1 only: a client that
// asks for another name must refuse it (the checks below are real), and the
// server, whose handshake the client abandoned, must go on serving.
await connect('not-this-server.example').then(
  () => fail('a certificate for another name was accepted'),
  (e) => console.log(`ok another name refused (${e.code || e.message})`));

const s = await connect('localhost').catch((e) => fail(`handshake: ${e.message}`));
s.on('error', (e) => fail(`socket error: ${e.message}`));
console.log(`ok handshake ${s.getProtocol()} ${s.getCipher().name}, server verified`);
let seed = 1;
for (const size of sizes) {
  const payload = pattern(size, seed++);
  // write() queues what the socket does not take yet and returns at once, so
  // the echo is read while the rest is still going out: no deadlock at 16 MiB.
  const echoed = read_exactly(s, payload, `echo ${size} B`);
  s.write(payload);
  await echoed;
}
// Our close_notify and FIN; the server's end comes back after them.
s.end();
await new Promise((r) => s.once('close', r));
console.log('ok clean end');

// Half-close at once: the echo of bytes sent before our end must still come,
// then the server's end.
{
  const h = await connect('localhost').catch((e) => fail(`half-close handshake: ${e.message}`));
  h.on('error', (e) => fail(`half-close: socket error: ${e.message}`));
  const payload = pattern(MiB + 7, 99);  // many records, under the high water mark
  const echoed = read_exactly(h, payload, 'echo after a write and an immediate end');
  h.end(payload);
  await echoed;
  await new Promise((r) => (h.readableEnded ? r() : h.once('end', r)));
  console.log('ok the server ended after the echo');
}

console.log('tls_client.mjs: all exchanges verified');
process.exit(0);
