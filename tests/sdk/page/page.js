// What the browser test asks the page to do, through the SDK (window.BaaS) only. Each step
// answers plain JSON: {ok: value} or {error: "HError <code> <message>", requests: [...]}, the
// requests being the SDK's calls with the status each got (0 / undefined: blocked, e.g. CORS).
"use strict";

const requests = [];
function traced(fn) {
  return (opts) => {
    const entry = { method: (opts.method || "GET").toUpperCase(), url: opts.url, status: null };
    requests.push(entry);
    return fn(opts).then(
      (res) => ((entry.status = res && res.status), res),
      (err) => ((entry.status = err && err.code), Promise.reject(err)),
    );
  };
}

async function step(fn) {
  const from = requests.length;
  try {
    return { ok: await fn(window.BaaS) };
  } catch (err) {
    const what = err && err.code !== undefined ? `HError ${err.code} ${err.message}` : String(err);
    return { error: what, requests: requests.slice(from) };
  }
}

window.journey = {
  init(appId, host) {
    localStorage.clear();
    BaaS.init(appId, { host });
    BaaS.request = traced(BaaS.request);
    BaaS._baasRequest = traced(BaaS._baasRequest);
    return { origin: location.origin, version: BaaS._config.VERSION };
  },
  register: (username, password) =>
    step(async (B) => {
      const user = await B.auth.register({ username, password });
      return { id: user.id, username: user._username, token: !!(await B.getAuthToken()) };
    }),
  login: (username, password) =>
    step(async (B) => {
      await B.auth.logout().catch(() => B.clearSession());
      const user = await B.auth.login({ username, password });
      return { id: user.id, username: user._username };
    }),
  update: (fields, incr) =>
    step(async (B) => {
      const user = await B.auth.getCurrentUser();
      await user.set(fields).update();
      const again = await B.auth.getCurrentUser();
      const res = await again.incrementBy(incr.field, incr.by).update();
      const read = (await B.auth.getCurrentUser()).toJSON();
      return { updated: res.data, read };
    }),
  query: (field, value) =>
    step(async (B) => {
      const q = new B.Query();
      q.compare(field, "=", value);
      const res = await new B.User().setQuery(q).orderBy("-created_at").limit(10).offset(0).find({ withCount: true });
      return { meta: res.data.meta, ids: res.data.objects.map((o) => o.id) };
    }),
};
