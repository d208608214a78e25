// End-to-end test of the digit demo's web page in a real headless browser: Debian's chromium,
// driven through the Chrome DevTools Protocol over a pipe (--remote-debugging-pipe: messages are
// JSON terminated by a NUL byte, chromium reads fd 3 and writes fd 4), so neither a WebSocket
// library nor anything from npm is needed, only node.
//
//   node browser_e2e.mjs --url http://127.0.0.1:PORT [--chromium /usr/bin/chromium]
//                        [--screenshot page.png]
//
// It loads the page, waits for the first image, clicks the "7" button with real mouse events,
// and checks that a new image appears: the <img> now shows /digit?d=7, it decodes as a 28 x 28
// image, its pixels differ from the previous image's, and it has ink. Then it checks that the
// interpolation animation changes frames, and moves the 2-D slider (when the page shows one) and
// checks that its image changes too. Exit 0 on success, 1 with
// one line on stderr otherwise.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const url = arg("--url", process.env.SERVE_URL);
const chromiumPath = arg("--chromium", "chromium");
const screenshot = arg("--screenshot", "");
if (!url) {
  console.error("browser_e2e: error: --url (or SERVE_URL) is required");
  process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), "edgevae-e2e-"));
const browser = spawn(chromiumPath, [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
  `--user-data-dir=${profile}`, "--remote-debugging-pipe", "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let browserLog = "";
browser.stderr.on("data", (d) => { browserLog = (browserLog + d).slice(-4000); });

function fail(message) {
  console.error(`browser_e2e: FAIL: ${message}`);
  if (process.env.E2E_VERBOSE) console.error(browserLog);
  cleanup();
  process.exit(1);
}
function cleanup() {
  try { browser.kill("SIGKILL"); } catch {}
  try { rmSync(profile, { recursive: true, force: true }); } catch {}
}
browser.on("error", (e) => fail(`cannot start ${chromiumPath}: ${e.message}`));
browser.on("exit", (code, signal) => {
  if (!done) fail(`chromium exited early (code ${code}, signal ${signal}): ${browserLog.trim().split("\n").pop()}`);
});
const timer = setTimeout(() => fail("timed out after 60 s"), 60000);

// CDP over the pipe.
const toBrowser = browser.stdio[3], fromBrowser = browser.stdio[4];
let nextId = 1, pending = new Map(), buffer = Buffer.alloc(0);
fromBrowser.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  let end;
  while ((end = buffer.indexOf(0)) >= 0) {
    const msg = JSON.parse(buffer.subarray(0, end).toString("utf8"));
    buffer = buffer.subarray(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolve(msg.result);
    }
  }
});
function send(method, params = {}, sessionId = undefined) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}

let done = false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const page = (method, params) => send(method, params, sessionId);
  const evaluate = async (expression) => {
    const r = await page("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`in page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  };
  const waitFor = async (expression, what, ms = 15000) => {
    const until = Date.now() + ms;
    for (;;) {
      const v = await evaluate(expression);
      if (v) return v;
      if (Date.now() > until) fail(`waited ${ms / 1000} s for ${what}`);
      await sleep(50);
    }
  };
  await page("Page.enable");
  await page("Runtime.enable");
  await page("Emulation.setDeviceMetricsOverride", { width: 900, height: 1100, deviceScaleFactor: 1, mobile: false });
  await page("Page.navigate", { url: url + "/" });
  await waitFor(`document.readyState === "complete" && !!document.getElementById("digit-7")`, "the page and its buttons");

  // What an <img> shows: its source, size, and a hash and ink count of its decoded pixels.
  const describe = (id) => evaluate(`(async () => {
    const img = document.getElementById(${JSON.stringify(id)});
    if (!img.src) return null;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let hash = 0, ink = 0;
    for (let i = 0; i < d.length; i += 4) { hash = (Math.imul(hash, 31) + d[i]) >>> 0; ink += d[i] > 127; }
    return { src: img.src, url: img.dataset.url || "", width: img.naturalWidth,
             height: img.naturalHeight, hash, ink, meta: document.getElementById("digit-meta").textContent };
  })()`);

  // The page shows a sample first.
  await waitFor(`(document.getElementById("digit-img").dataset.url || "").startsWith("/sample")`, "the first sample");
  const before = await describe("digit-img");
  if (!before || before.width !== 28) fail(`the first image is not 28 x 28: ${JSON.stringify(before)}`);
  const disabled = await evaluate(`document.getElementById("digit-7").disabled`);
  if (disabled) fail(`the "7" button is disabled (the model has no class statistics for 7)`);

  // Click "7" the way a person does: mouse events at the button's centre.
  const box = await evaluate(`(() => { const r = document.getElementById("digit-7").getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
  for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
    await page("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
  }
  await waitFor(`(document.getElementById("digit-img").dataset.url || "").startsWith("/digit?d=7")`, "the image of a 7");
  const after = await describe("digit-img");
  if (after.width !== 28 || after.height !== 28) fail(`the 7 is ${after.width} x ${after.height}, expected 28 x 28`);
  if (after.src === before.src) fail("the image source did not change");
  if (after.hash === before.hash) fail("the image's pixels did not change");
  if (after.ink < 10) fail(`the 7 has almost no ink (${after.ink} pixels above half grey)`);
  if (!after.meta.startsWith("a 7")) fail(`the caption says ${JSON.stringify(after.meta)}`);

  // Again: another 7, a different one.
  await evaluate(`document.getElementById("digit-7").click()`);
  await waitFor(`document.getElementById("digit-img").src !== ${JSON.stringify(after.src)}`, "a second 7");
  const again = await describe("digit-img");
  if (again.hash === after.hash) fail("a second click on 7 gave the same image");

  // The interpolation animation plays on load: 24 frames, cycling.
  await waitFor(`document.getElementById("interp-meta").textContent.endsWith("24 frames") &&
                 !!document.getElementById("interp-img").src`, "the interpolation frames");
  const frame1 = await describe("interp-img");
  await waitFor(`document.getElementById("interp-img").src !== ${JSON.stringify(frame1.src)}`, "the next frame");
  const frame2 = await describe("interp-img");
  if (frame1.width !== 28 || frame2.width !== 28) fail("an interpolation frame is not 28 x 28");
  if (frame1.hash === frame2.hash) fail("the interpolation animation does not change the image");

  // The 2-D model's slider, when the page has one.
  const has2d = await evaluate(`!document.getElementById("latent2d").hidden`);
  let slider = "no 2-D model";
  if (has2d) {
    await waitFor(`!!document.getElementById("latent2d-img").dataset.url`, "the first 2-D image");
    const first = await describe("latent2d-img");
    await evaluate(`(() => { const s = document.getElementById("slider-x"); s.value = 2.5;
      s.dispatchEvent(new Event("input")); })()`);
    await waitFor(`document.getElementById("latent2d-img").dataset.url.includes("x=2.50")`, "the slider's image");
    const moved = await describe("latent2d-img");
    if (moved.hash === first.hash) fail("moving the slider did not change the 2-D image");
    await waitFor(`document.getElementById("manifold").naturalWidth === 560`, "the manifold");
    slider = "slider ok, manifold 560 x 560";
  }

  if (screenshot) {
    const { data } = await page("Page.captureScreenshot", { format: "png" });
    writeFileSync(screenshot, Buffer.from(data, "base64"));
  }
  done = true;
  await send("Browser.close").catch(() => {});
  console.log(`browser_e2e: ok: clicked 7 -> ${after.url} (28 x 28, ${after.ink} ink pixels, ` +
              `new pixels), a second 7 differs; interpolation animates; ${slider}`);
}

main().then(() => { clearTimeout(timer); cleanup(); process.exit(0); },
            (e) => fail(e.message));
