// An independent TLS echo server (node's `tls` module) for fastnet's TLS
// client: serves the test server certificate on 127.0.0.1, echoes every
// byte with backpressure (pipe), prints "listening <port>" once it accepts
// and, per connection, "sni <name>" (what the client sent) and, when the
// client ended its side, "ended <bytes echoed>".
//   node tls_server.mjs CERT_FILE KEY_FILE
import fs from 'node:fs';
import tls from 'node:tls';

const server = tls.createServer({
  cert: fs.readFileSync(process.argv[2]),
  key: fs.readFileSync(process.argv[3]),
}, (s) => {
  console.log(`sni ${s.servername || '(none)'}`);
  let bytes = 0;
  s.on('data', (c) => { bytes += c.length; });
  s.on('end', () => console.log(`ended ${bytes}`));
  s.on('error', (e) => console.log(`error ${e.code || e.message}`));  // e.g. a refused handshake
  s.pipe(s);
});
// A client that refuses our certificate aborts its handshake: reported, not fatal.
server.on('tlsClientError', (e) => console.log(`handshake refused by the client: ${e.code || e.message}`));
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
// The test driver ends this process with SIGTERM.
process.on('SIGTERM', () => process.exit(0));
