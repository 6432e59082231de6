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

function who(user) {
  const u = user.toJSON ? user.toJSON() : user;
  return { id: u.id, username: u._username, email: u._email, phone: u._phone, anonymous: u._anonymous };
}

window.journey = {
  init(appId, host) {
    localStorage.clear();
    BaaS.init(appId, { host });
    BaaS.request = traced(BaaS.request);
    BaaS._baasRequest = traced(BaaS._baasRequest);
    return { origin: location.origin, version: BaaS._config.VERSION };
  },
  // Sign-up by `field` (username, email or phone); an anonymous session, if stored, is sent along.
  register: (field, value, password) =>
    step(async (B) => {
      const user = await B.auth.register({ [field]: value, password });
      return { ...who(user), token: !!(await B.getAuthToken()) };
    }),
  login: (field, value, password) =>
    step(async (B) => {
      await B.auth.logout().catch(() => B.clearSession());
      return who(await B.auth.login({ [field]: value, password }));
    }),
  anonymous: () =>
    step(async (B) => {
      await B.auth.logout().catch(() => B.clearSession());
      return who(await B.auth.anonymousLogin());
    }),
  current: () => step(async (B) => (await B.auth.getCurrentUser()).toJSON()),
  // setUsername / setEmail / setMobilePhone for each value given, then the user read back.
  account: (values) =>
    step(async (B) => {
      const user = await B.auth.getCurrentUser();
      if (values.username) await user.setUsername(values.username);
      if (values.email) await user.setEmail(values.email);
      if (values.phone) await user.setMobilePhone(values.phone);
      return who(await B.auth.getCurrentUser());
    }),
  // The SDK's error code for a wrong current password, then the right one's outcome.
  updatePassword: (wrong, current, next) =>
    step(async (B) => {
      const user = await B.auth.getCurrentUser();
      const refused = await user.updatePassword({ password: wrong, newPassword: next }).then(() => 200, (e) => e.code);
      await user.updatePassword({ password: current, newPassword: next });
      return { refused, after: who(await B.auth.getCurrentUser()) };
    }),
  // Logs out, then puts the old token back (as a thief would) and tries to read with it.
  logoutAndReplay: () =>
    step(async (B) => {
      const token = await B.getAuthToken();
      const { id } = (await B.auth.getCurrentUser()).toJSON();
      await B.auth.logout();
      await B.storage.set("auth_token", token);
      const replayed = await new B.User().get(id).then((r) => r.status, (e) => e.code);
      B.clearSession();
      return { replayed };
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
