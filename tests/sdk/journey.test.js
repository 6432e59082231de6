// An app user's journey through MinApp's official SDK (minapp-sdk, web build, unchanged) against
// the stack at MINAPP_SDK_BASE_URL. One `test` per step so the report shows which pass; later
// steps reuse the users earlier ones made (a step whose user is missing says so).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { APP_ID, USER_FIELDS, newClient, call, rejects } = require("./client");

const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "new horse battery staple";
const digits = () => String(Math.floor(Math.random() * 1e8)).padStart(8, "0");

const CUSTOM = USER_FIELDS.map((f) => f.name);
const PRIVATE = USER_FIELDS.filter((f) => f.private).map((f) => f.name);
// What another user may see (SPEC "MinApp client user API").
const OTHERS_SEE = new Set(["id", "nickname", "avatar", ...CUSTOM.filter((f) => !PRIVATE.includes(f))]);

const s = {}; // users made along the way: { client, id, ... }
function need(name) {
  if (!s[name]) throw new Error(`needs user "${name}", which an earlier step failed to make`);
  return s[name];
}

test.after(() => Object.values(s).forEach((u) => u.client && u.client.close()));

test("getServerDate reads the server's time", async () => {
  const c = newClient();
  const res = await call(c, c.BaaS.getServerDate());
  const t = Date.parse(res.data.time);
  assert.ok(!Number.isNaN(t), `time is not ISO 8601: ${JSON.stringify(res.data)}`);
  assert.ok(Math.abs(t - Date.now()) < 5 * 60 * 1000, `server time ${res.data.time} is far from now`);
  c.close();
});

test("an X-Hydrogen-Client-ID other than APP_ID is refused (401)", async () => {
  const c = newClient(`not-${APP_ID}`);
  await rejects(c, c.BaaS.auth.register({ username: `stranger_${RUN}`, password: PASSWORD }), 401);
  c.close();
});

test("sign-up and login requests are accepted (201, token stored) before the SDK reads the user back", async () => {
  const username = `early_${RUN}`;
  for (const [c, op] of [[newClient(), "register"], [newClient(), "login"]]) {
    // Whatever the read-back answers, the first request is the endpoint's own.
    await c.BaaS.auth[op]({ username, password: PASSWORD }).catch(() => null);
    const [first] = c.log;
    assert.ok(first, `${op}: the SDK sent no request`);
    assert.equal(`${first.method} ${first.url} -> ${first.status}`, `POST /hserve/v2.1/${op}/username/ -> 201`);
    assert.ok(await c.BaaS.getAuthToken(), `${op}: the token is stored`);
    c.close();
  }
});

test("register by username", async () => {
  const c = newClient();
  const username = `Alice_${RUN}`;
  const user = await call(c, c.BaaS.auth.register({ username, password: PASSWORD }));
  assert.equal(user._username, username);
  assert.equal(typeof user.id, "number");
  assert.equal(user.user_id, user.id);
  assert.ok(user.session_expires_at > Date.now() / 1000, "session_expires_at from expires_in");
  assert.ok(await c.BaaS.getAuthToken(), "the token is stored");
  s.alice = { client: c, id: user.id, username };
});

test("register by email", async () => {
  const c = newClient();
  const email = `bob.${RUN}@example.com`;
  const user = await call(c, c.BaaS.auth.register({ email, password: PASSWORD }));
  assert.equal(user._email, email);
  assert.equal(user._email_verified, false);
  s.bob = { client: c, id: user.id, email };
});

test("register by phone", async () => {
  const c = newClient();
  const phone = `+86139${digits()}`;
  const user = await call(c, c.BaaS.auth.register({ phone, password: PASSWORD }));
  assert.equal(user._phone, phone);
  assert.equal(user._phone_verified, false);
  s.carol = { client: c, id: user.id, phone };
});

test("login by username in another case", async () => {
  const alice = need("alice");
  const c = newClient();
  const user = await call(c, c.BaaS.auth.login({ username: alice.username.toUpperCase(), password: PASSWORD }));
  assert.equal(user.id, alice.id);
  assert.equal(user._username, alice.username);
  c.close();
});

test("getCurrentUser is the signed-in user in full", async () => {
  const alice = need("alice");
  const user = await call(alice.client, alice.client.BaaS.auth.getCurrentUser());
  assert.equal(user.id, alice.id);
  assert.equal(user._username, alice.username);
  for (const f of ["_email", "_email_verified", "_phone", "_phone_verified"]) {
    assert.ok(f in user.toJSON(), `own user lacks ${f}: ${JSON.stringify(user.toJSON())}`);
  }
});

test("own profile update: set, then every atomic operator, values read back", async () => {
  const alice = need("alice");
  const { BaaS } = alice.client;
  const me = () => call(alice.client, BaaS.auth.getCurrentUser());
  const update = (rec) => call(alice.client, rec.update());

  let res = await update(
    (await me()).set({
      nickname: "Alice",
      level: 1,
      score: 1.5,
      vip: true,
      tags: ["a", "b", "c"],
      bio: `run-${RUN}`,
      prefs: { theme: "dark" },
      birthday: "2000-01-02",
    }),
  );
  assert.equal(res.data.nickname, "Alice", "the update answers the updated user");
  assert.deepEqual(res.data.tags, ["a", "b", "c"]);

  // One operator per field per update (the SDK keeps one per field).
  res = await update((await me()).incrementBy("level", 2).append("tags", ["d", "a"]).patchObject("prefs", { lang: "en" }));
  assert.equal(res.data.level, 3);
  assert.deepEqual(res.data.tags, ["a", "b", "c", "d", "a"]);
  assert.deepEqual(res.data.prefs, { theme: "dark", lang: "en" });
  res = await update((await me()).uAppend("tags", ["a", "e"]).incrementBy("score", -0.5));
  assert.deepEqual(res.data.tags, ["a", "b", "c", "d", "a", "e"]);
  assert.equal(res.data.score, 1);
  res = await update((await me()).remove("tags", "b"));
  assert.deepEqual(res.data.tags, ["a", "c", "d", "a", "e"]);
  res = await update((await me()).pop("tags"));
  assert.deepEqual(res.data.tags, ["a", "c", "d", "a"]);
  res = await update((await me()).shift("tags"));
  assert.deepEqual(res.data.tags, ["c", "d", "a"]);

  const user = await me();
  assert.equal(user.nickname, "Alice");
  assert.equal(user.get("level"), 3);
  assert.equal(user.get("score"), 1);
  assert.equal(user.get("vip"), true);
  assert.deepEqual(user.get("tags"), ["c", "d", "a"]);
  assert.deepEqual(user.get("prefs"), { theme: "dark", lang: "en" });
  assert.equal(user.get("bio"), `run-${RUN}`);
  assert.ok(String(user.get("birthday")).startsWith("2000-01-02"), `birthday ${user.get("birthday")}`);
});

test("query users: setQuery().find() with withCount, orderBy, limit/offset; count()", async () => {
  const alice = need("alice");
  const bob = need("bob");
  const carol = need("carol");
  // Three users share this run's bio; their levels order them bob > carol > alice.
  for (const [u, level] of [[alice, 3], [bob, 10], [carol, 5]]) {
    const rec = await call(u.client, u.client.BaaS.auth.getCurrentUser());
    await call(u.client, rec.set({ bio: `run-${RUN}`, level }).update());
  }
  const { BaaS } = alice.client;
  const q = () => {
    const query = new BaaS.Query();
    query.compare("bio", "=", `run-${RUN}`);
    return query;
  };
  let res = await call(alice.client, new BaaS.User().setQuery(q()).orderBy("-level").limit(2).offset(0).find({ withCount: true }));
  assert.equal(res.data.meta.total_count, 3);
  assert.deepEqual(res.data.objects.map((o) => o.id), [bob.id, carol.id]);
  assert.equal(res.data.meta.limit, 2);
  assert.ok(String(res.data.meta.next).startsWith("/hserve/"), `next: ${res.data.meta.next}`);
  res = await call(alice.client, new BaaS.User().setQuery(q()).orderBy("-level").limit(2).offset(2).find());
  assert.deepEqual(res.data.objects.map((o) => o.id), [alice.id]);
  assert.equal(res.data.meta.next, null);
  assert.ok(!("total_count" in res.data.meta), "total_count only when asked");
  // What others see of a user in a query is what get() shows them.
  for (const o of res.data.objects.concat()) assert.equal(o.id, alice.id);
  const bobSeen = (await call(alice.client, new BaaS.User().setQuery(q()).orderBy("-level").limit(1).find())).data.objects[0];
  for (const k of Object.keys(bobSeen)) assert.ok(OTHERS_SEE.has(k), `query shows another user's ${k}`);
  assert.equal(await call(alice.client, new BaaS.User().setQuery(q()).count()), 3);
});

test("get(otherId) shows only what others may see", async () => {
  const alice = need("alice");
  const bob = need("bob");
  const res = await call(alice.client, new alice.client.BaaS.User().get(bob.id));
  assert.equal(res.data.id, bob.id);
  for (const k of Object.keys(res.data)) assert.ok(OTHERS_SEE.has(k), `another user's ${k} is shown: ${JSON.stringify(res.data)}`);
  assert.ok(!JSON.stringify(res.data).includes(bob.email), "the email leaks");
  const own = await call(bob.client, new bob.client.BaaS.User().get(bob.id));
  assert.equal(own.data._email, bob.email, "the owner sees it");
});

test("setUsername, setEmail, setMobilePhone", async () => {
  const carol = need("carol");
  const { BaaS } = carol.client;
  const username = `carol_${RUN}`;
  const email = `carol.${RUN}@example.com`;
  const phone = `+86138${digits()}`;
  let user = await call(carol.client, BaaS.auth.getCurrentUser());
  user = await call(carol.client, user.setUsername(username));
  user = await call(carol.client, user.setEmail(email));
  user = await call(carol.client, user.setMobilePhone(phone));
  user = await call(carol.client, BaaS.auth.getCurrentUser());
  assert.equal(user._username, username);
  assert.equal(user._email, email);
  assert.equal(user._email_verified, false);
  assert.equal(user._phone, phone);
  const other = newClient();
  assert.equal((await call(other, other.BaaS.auth.login({ email, password: PASSWORD }))).id, carol.id);
  other.close();
  Object.assign(carol, { username, email, phone });
});

test("updatePassword: a wrong current password is 400, the right one changes it", async () => {
  const bob = need("bob");
  const { BaaS } = bob.client;
  const user = await call(bob.client, BaaS.auth.getCurrentUser());
  await rejects(bob.client, user.updatePassword({ password: "not the password", newPassword: NEW_PASSWORD }), 400);
  await call(bob.client, user.updatePassword({ password: PASSWORD, newPassword: NEW_PASSWORD }));
  // The session that changed it keeps working.
  assert.equal((await call(bob.client, BaaS.auth.getCurrentUser())).id, bob.id);
  const c = newClient();
  await rejects(c, c.BaaS.auth.login({ email: bob.email, password: PASSWORD }), 400);
  assert.equal((await call(c, c.BaaS.auth.login({ email: bob.email, password: NEW_PASSWORD }))).id, bob.id);
  c.close();
});

test("anonymous login, then becoming a registered user with the same id", async () => {
  const c = newClient();
  s.anon = { client: c };
  const user = await call(c, c.BaaS.auth.anonymousLogin());
  assert.equal(user._anonymous, true);
  assert.ok(!user._username && !user._email && !user._phone, JSON.stringify(user.toJSON()));
  // The SDK itself refuses account calls of an anonymous user (HError 612, no request);
  // MinApp's documented way up is register() with the anonymous session: same user id.
  await rejects(c, user.setAccount({ username: `anon_${RUN}`, password: PASSWORD }), 612);
  const username = `anon_${RUN}`;
  const registered = await call(c, c.BaaS.auth.register({ username, password: PASSWORD }));
  assert.equal(registered.id, user.id);
  assert.equal(registered._username, username);
  assert.ok(!registered._anonymous);
});

test("20 concurrent incrementBy from one client all count", async () => {
  const carol = need("carol");
  const { BaaS } = carol.client;
  const before = (await call(carol.client, BaaS.auth.getCurrentUser())).get("level") || 0;
  await Promise.all(
    Array.from({ length: 20 }, () => call(carol.client, new BaaS.User().getCurrentUserWithoutData().incrementBy("level", 1).update())),
  );
  assert.equal((await call(carol.client, BaaS.auth.getCurrentUser())).get("level"), before + 20);
});

test("a client cannot write another user's profile", async () => {
  const alice = need("alice");
  const bob = need("bob");
  const { BaaS } = alice.client;
  // The SDK's record of another user still updates the caller (the path has no id) ...
  await call(alice.client, new BaaS.User().getWithoutData(bob.id).set("bio", `hacked-${RUN}`).update());
  // ... and naming another id in the body is refused.
  await rejects(alice.client, BaaS._baasRequest({ url: "/hserve/v2.5/user/info/", method: "PUT", data: { id: bob.id, bio: `hacked-${RUN}` } }), 400);
  const bobNow = await call(bob.client, bob.client.BaaS.auth.getCurrentUser());
  assert.equal(bobNow.get("bio"), `run-${RUN}`);
  assert.equal((await call(alice.client, BaaS.auth.getCurrentUser())).get("bio"), `hacked-${RUN}`);
});

test("logout, then the old token is refused everywhere", async () => {
  const alice = need("alice");
  const { BaaS } = alice.client;
  const token = await BaaS.getAuthToken();
  assert.ok(token);
  await call(alice.client, BaaS.auth.logout());
  await rejects(alice.client, BaaS.auth.getCurrentUser(), 604);
  assert.ok(!(await BaaS.getAuthToken()), "logout clears the stored token");
  // Replay the old token the way a thief would: through the same SDK.
  await BaaS.storage.set("auth_token", token);
  await rejects(alice.client, new BaaS.User().get(alice.id), 401);
  const rec = new BaaS.User().getCurrentUserWithoutData().set("nickname", "ghost");
  await rejects(alice.client, rec.update(), 401);
  await rejects(alice.client, new BaaS.User().find(), 401);
  const me = await call(alice.client, BaaS.auth.getCurrentUser().catch(() => null));
  assert.equal(me, null);
  await rejects(alice.client, BaaS._baasRequest({ url: "/hserve/v2.2/user/account/", method: "PUT", data: { username: `ghost_${RUN}` } }), 401);
  await rejects(alice.client, BaaS.auth.logout(), 401);
});
