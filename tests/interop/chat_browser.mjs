// A real browser in the chat: Debian's chromium, headless, driven by
// playwright-core, loads chat_server's page, waits for a line from a TCP
// client in the same room, sends a line and sees the room's broadcast of it.
// The test driver (run_interop.py chat) plays the TCP client.
//   node chat_browser.mjs http://127.0.0.1:WS_PORT/
//   node chat_browser.mjs https://127.0.0.1:WS_PORT/ SERVER_CERT_FILE
// Prints "browser joined as <nick>" once its WebSocket is in the room, and
// exits 0 once both lines were seen on the page.
//
// Over https the page and its wss:// are trusted narrowly: chromium's
// --ignore-certificate-errors-spki-list with the SHA-256 of the server
// certificate's public key (SPKI), so only that key is let through; not
// --ignore-certificate-errors or playwright's ignoreHTTPSErrors, which let
// any certificate through. (The flag needs a --user-data-dir: playwright's
// launch() gives chromium a fresh temporary one.)
import crypto from 'node:crypto';
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.argv[2];
const limit = 30000;  // ms for each wait: a missing line fails instead of hanging

const args = [
  // Containers and CI runners often run as root, where chromium's sandbox cannot start.
  '--no-sandbox',
  // Nothing but the page under test: no GPU, QUIC, first-run, updates or sync.
  '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
if (process.argv[3]) {
  // The first certificate in the file is the leaf the server presents.
  const leaf = new crypto.X509Certificate(fs.readFileSync(process.argv[3]));
  const spki = leaf.publicKey.export({ type: 'spki', format: 'der' });
  const pin = crypto.createHash('sha256').update(spki).digest('base64');
  console.log(`trusting the server key ${pin} only`);
  args.push(`--ignore-certificate-errors-spki-list=${pin}`);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,  // playwright passes --headless
  args,
});
let status = 1;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  const response = await page.goto(url, { timeout: limit });
  if (url.startsWith('https:')) {
    // The page and its WebSocket came over TLS, not a plain fallback.
    const tls = await response.securityDetails();
    if (!tls) throw new Error('the page did not come over TLS');
    console.log(`page over ${tls.protocol} from "${tls.subjectName}"`);
  }
  await page.waitForSelector('body[data-state="open"]', { timeout: limit });
  // The member's own join announcement names it: "* webN joined".
  const joined = page.locator('#log li', { hasText: /^\* web\d+ joined$/ }).first();
  await joined.waitFor({ timeout: limit });
  const nick = (await joined.textContent()).match(/web\d+/)[0];
  console.log(`browser joined as ${nick}`);
  // Over https the chat must run on wss://, and on ws:// over http.
  const scheme = url.startsWith('https:') ? 'wss://' : 'ws://';
  if (sockets.length !== 1 || !sockets[0].startsWith(scheme))
    throw new Error(`expected one ${scheme} WebSocket, saw ${JSON.stringify(sockets)}`);
  console.log(`chat over ${sockets[0]}`);

  // The TCP client speaks once it has seen this browser join.
  await page.locator('#log li', { hasText: /^guest\d+: hello from tcp$/ }).first()
    .waitFor({ timeout: limit });
  console.log('browser saw the tcp line');

  await page.fill('#line', 'hello from the browser');
  await page.press('#line', 'Enter');
  await page.locator('#log li', { hasText: `${nick}: hello from the browser` }).first()
    .waitFor({ timeout: limit });
  console.log('browser saw its own line broadcast');
  status = 0;
} catch (e) {
  console.error(`chat_browser.mjs: FAIL: ${e.message}`);
} finally {
  await browser.close();
}
process.exit(status);
