// One MinApp SDK client per call of `newClient()`: the SDK's own web build (the file the browser
// test page loads, `minapp-sdk/lib/web.js`), unchanged. jsdom gives it what a browser would:
// `window` with `localStorage` (its session store, one per client here) and `XMLHttpRequest`
// (the only request adapter its bundled axios 0.21 has). The SDK's code itself runs in Node's
// realm, so the arrays and objects a test passes are the SDK's own kind (`append(f, [..])`
// checks `instanceof Array`). The window's URL is the stack's origin: Node requests are
// same-origin, CORS is the browser test's business.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { JSDOM } = require("jsdom");

const ROOT = path.resolve(__dirname, "..", "..");
// The bundle is UMD: given `module`, it exports BaaS instead of setting a global.
const loadSdk = new Function(
  "window",
  "XMLHttpRequest",
  "module",
  "exports",
  fs.readFileSync(require.resolve("minapp-sdk/lib/web.js"), "utf8"),
);

function localEnv() {
  const env = {};
  for (const line of fs.readFileSync(path.join(ROOT, "local.env"), "utf8").split("\n")) {
    const t = line.trim();
    if (t && !t.startsWith("#") && t.includes("=")) {
      const i = t.indexOf("=");
      env[t.slice(0, i).trim()] = t.slice(i + 1).trim();
    }
  }
  return env;
}

const ENV = localEnv();
const BASE_URL = (process.env.MINAPP_SDK_BASE_URL || "http://127.0.0.1:9000").replace(/\/$/, "");
const APP_ID = process.env.MINAPP_SDK_APP_ID || ENV.APP_ID;

// `USER_FIELDS` as `name:type[:flags]`; a field whose flags say `private` is its owner's only.
const USER_FIELDS = (ENV.USER_FIELDS || "").split(",").filter(Boolean).map((spec) => {
  const [name, type, ...flags] = spec.split(":");
  return { name, type, private: flags.some((f) => /private/i.test(f)) };
});

function newClient(clientId = APP_ID) {
  const win = new JSDOM("<!doctype html><title>sdk</title>", { url: BASE_URL + "/" }).window;
  const module = { exports: {} };
  loadSdk(win, win.XMLHttpRequest, module, module.exports);
  const BaaS = module.exports;
  BaaS.init(clientId, { host: BASE_URL });
  // Every request the SDK makes, with the status it got: a failing step names the call that
  // broke it. `auth.*` calls `BaaS.request`, the rest `BaaS._baasRequest` (a copy of it).
  const log = [];
  const wrap = (fn) => (opts) => {
    const entry = { method: (opts.method || "GET").toUpperCase(), url: opts.url, status: null };
    log.push(entry);
    return fn(opts).then(
      (res) => ((entry.status = res && res.status), res),
      (err) => {
        entry.status = err && err.code;
        throw err;
      },
    );
  };
  BaaS.request = wrap(BaaS.request);
  BaaS._baasRequest = wrap(BaaS._baasRequest);
  return { BaaS, window: win, log, close: () => win.close() };
}

// The SDK's rejection (an HError: `code` is the HTTP status or the SDK's own 6xx) with the
// requests behind it, so a failing step shows which path answered what. Without an HTTP
// answer (connection refused, CORS) the SDK rejects with a TypeError from its own code.
function describe(client, err) {
  const trail = client.log.slice(-4).map((e) => `${e.method} ${e.url} -> ${e.status === undefined ? "no answer" : e.status}`).join("; ");
  const what = err && err.code !== undefined ? `HError ${err.code} ${err.message}` : `${err && err.name}: ${err && err.message}`;
  return `${what} [requests: ${trail}]`;
}

// Runs an SDK call; on rejection fails with `describe`.
async function call(client, promise) {
  try {
    return await promise;
  } catch (err) {
    throw new Error(describe(client, err));
  }
}

// Expects the SDK call to reject with HError `code`; returns the error.
async function rejects(client, promise, code) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    if (err && err.code === code) return err;
    throw new Error(`expected HError ${code}, got ${describe(client, err)}`);
  }
  throw new Error(`expected HError ${code}, the call succeeded: ${JSON.stringify(res && (res.data || res))}`);
}

module.exports = { BASE_URL, APP_ID, USER_FIELDS, newClient, call, rejects, describe };
