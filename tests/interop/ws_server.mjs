// An independent WebSocket server (the npm `ws` package) for fastnet's
// WebSocket client: echoes text as text and binary as binary; reports each
// ping it receives as a text "got-ping:<payload>"; on a text
// "ping-me:<payload>" pings the client and, once the matching pong is back,
// sends "pong-ok:<payload>"; prints "closed <code> <reason>" for each close
// it receives. Prints "listening <port>" once it accepts.
//   node ws_server.mjs [CERT_FILE KEY_FILE]
// With a certificate and key it serves wss:// (ws on node's https server).
import fs from 'node:fs';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const options = { maxPayload: 64 << 20, perMessageDeflate: false };
let wss;
if (process.argv[3]) {
  const server = https.createServer({
    cert: fs.readFileSync(process.argv[2]), key: fs.readFileSync(process.argv[3]),
  });
  wss = new WebSocketServer({ server, ...options });
  // A client that refuses our certificate aborts its handshake: reported, not fatal.
  server.on('tlsClientError', (e) => console.log(`handshake refused by the client: ${e.code || e.message}`));
  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
} else {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  wss.on('listening', () => console.log(`listening ${wss.address().port}`));
}
wss.on('connection', (ws) => {
  ws.on('message', (data, is_binary) => {
    const text = is_binary ? null : data.toString('utf8');
    if (text !== null && text.startsWith('ping-me:')) {
      const payload = Buffer.from(text.slice('ping-me:'.length), 'utf8');
      const on_pong = (got) => {
        if (!got.equals(payload)) return;  // not the answer to this ping
        ws.off('pong', on_pong);
        ws.send(`pong-ok:${got.toString('utf8')}`);
      };
      ws.on('pong', on_pong);
      ws.ping(payload);
      return;
    }
    ws.send(data, { binary: is_binary });
  });
  ws.on('ping', (data) => ws.send(`got-ping:${data.toString('utf8')}`));
  ws.on('close', (code, reason) => console.log(`closed ${code} ${reason.toString('utf8')}`));
});
// The test driver ends this process with SIGTERM.
process.on('SIGTERM', () => process.exit(0));
