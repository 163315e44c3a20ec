// A real browser in the chat: Debian's chromium, headless, driven by
// playwright-core, loads chat_server's page, waits for a line from a TCP
// client in the same room, sends a line and sees the room's broadcast of it.
// The test driver (run_interop.py chat) plays the TCP client.
//   node chat_browser.mjs http://127.0.0.1:WS_PORT/
// Prints "browser joined as <nick>" once its WebSocket is in the room, and
// exits 0 once both lines were seen on the page.
import { chromium } from 'playwright-core';

const url = process.argv[2];
const limit = 30000;  // ms for each wait: a missing line fails instead of hanging

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // Containers and CI runners often run as root, where chromium's sandbox cannot start.
  args: ['--no-sandbox'],
});
let status = 1;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(url, { timeout: limit });
  await page.waitForSelector('body[data-state="open"]', { timeout: limit });
  // The member's own join announcement names it: "* webN joined".
  const joined = page.locator('#log li', { hasText: /^\* web\d+ joined$/ }).first();
  await joined.waitFor({ timeout: limit });
  const nick = (await joined.textContent()).match(/web\d+/)[0];
  console.log(`browser joined as ${nick}`);

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
