import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, SESSION, setCsrfToken } from './api.js';
import { LanguageSwitch, t, useLanguage } from './i18n.js';
import { follow, href, useRoute } from './route.js';
import { Users } from './users.jsx';
import { UserPage } from './user.jsx';
import { Batch } from './batch.jsx';
import { Operators } from './operators.jsx';
import { can } from './roles.js';


function Login({ onSession }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError('');
    try {
      onSession(await api('POST', SESSION, { username: form.get('username'), password: form.get('password') }));
    } catch (e) {
      if (e.status === 401) setError(t('login.wrong'));
      else if (e.status === 429) setError(t('login.limited', e.retryAfter || '?'));
      else setError(e.message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main id="main" class="login">
      <h1>{t('app.title')}</h1>
      <form onSubmit={submit} class="card" aria-labelledby="login-title">
        <h2 id="login-title">{t('login.title')}</h2>
        <label>
          {t('login.username')}
          <input name="username" autocomplete="username" required />
        </label>
        <label>
          {t('login.password')}
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit" disabled={busy}>{t('login.submit')}</button>
        {error && <p role="alert" class="error">{error}</p>}
      </form>
    </main>
  );
}

function Nav({ session, route, onLogout }) {
  const views = [['users', t('nav.users')]];
  if (can.edit(session.role)) views.push(['batch', t('nav.batch')]);
  if (can.admin(session.role)) views.push(['operators', t('nav.operators')]);
  const view = route.view || 'users';
  return (
    <header class="top">
      <span class="brand">{t('app.title')}</span>
      <nav aria-label={t('nav.label')}>
        <ul>
          {views.map(([name, label]) => (
            <li key={name}>
              <a href={href({ view: name })} aria-current={view === name ? 'page' : undefined}
                onClick={(e) => follow(e, { view: name })}>{label}</a>
            </li>
          ))}
        </ul>
      </nav>
      <span class="who">
        {session.username} · <span class="role">{t(`role.${session.role}`)}</span>
      </span>
      <LanguageSwitch />
      <button type="button" onClick={onLogout}>{t('nav.logout')}</button>
    </header>
  );
}

function App() {
  useLanguage();
  const route = useRoute();
  // undefined: still asking; null: logged out.
  const [session, setSession] = useState(undefined);
  const [notice, setNotice] = useState('');

  function accept(s) {
    setCsrfToken(s ? s.csrf_token : null);
    setSession(s);
  }

  useEffect(() => {
    api('GET', SESSION).then(accept, () => accept(null));
  }, []);

  // A session that ends while the page is open (expired, revoked): back to the login form.
  useEffect(() => {
    const onExpired = () => {
      setNotice(t('login.expired'));
      accept(null);
    };
    addEventListener('console:unauthorized', onExpired);
    return () => removeEventListener('console:unauthorized', onExpired);
  }, []);

  async function logout() {
    try {
      await api('DELETE', SESSION);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
    setNotice('');
    accept(null);
  }

  if (session === undefined) {
    return <main id="main" aria-busy="true"><p role="status">{t('common.loading')}</p></main>;
  }
  if (session === null) {
    return (
      <>
        <div class="bar"><LanguageSwitch /></div>
        {notice && <p role="status" class="notice">{notice}</p>}
        <Login onSession={(s) => { setNotice(''); accept(s); }} />
      </>
    );
  }
  const view = route.view || 'users';
  let page;
  if (view === 'user' && route.id) page = <UserPage id={route.id} role={session.role} fields={session.fields} />;
  else if (view === 'batch' && can.edit(session.role)) page = <Batch route={route} />;
  else if (view === 'operators' && can.admin(session.role)) page = <Operators self={session.username} />;
  else page = <Users route={route} />;
  return (
    <>
      <Nav session={session} route={route} onLogout={logout} />
      <main id="main">{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app'));
