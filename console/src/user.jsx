import { useEffect, useState } from 'preact/hooks';
import { account, api, audit, disabled, revoke, user, userUpdate } from './api.js';
import { t } from './i18n.js';
import { follow, href } from './route.js';
import { can } from './roles.js';
import { draftOf, FieldEditor, isCustom, kindOf, time, valueOf, WRITABLE } from './fields.jsx';

/** One action's outcome, announced politely (or as an alert when it failed). */
function Outcome({ result }) {
  if (!result) return null;
  return result.error
    ? <p role="alert" class="error">{result.error}</p>
    : <p role="status" class="ok">{result.ok}</p>;
}

async function attempt(set, action, ok) {
  set({ busy: true });
  try {
    await action();
    set({ ok });
  } catch (e) {
    set({ error: e.message });
  }
}

function Profile({ object, role, fields, onSaved }) {
  const editable = can.edit(role);
  const names = [...WRITABLE, ...Object.keys(object).filter(isCustom)];
  const kinds = Object.fromEntries(names.map((n) => [n, kindOf(n, object[n], fields)]));
  const initial = () => Object.fromEntries(names.map((n) => [n, draftOf(kinds[n], object[n])]));
  const [draft, setDraft] = useState(initial);
  const [result, setResult] = useState(null);
  useEffect(() => setDraft(initial()), [object]);

  function save(event) {
    event.preventDefault();
    attempt(setResult, async () => {
      const changes = {};
      for (const n of names) {
        if (draft[n] !== draftOf(kinds[n], object[n])) changes[n] = valueOf(n, kinds[n], draft[n]);
      }
      if (Object.keys(changes).length === 0) throw new Error(t('user.nothing'));
      onSaved(await api('PUT', userUpdate(object.id), changes));
    }, t('user.saved'));
  }
  return (
    <form class="card" onSubmit={save} aria-labelledby="profile-title">
      <h2 id="profile-title">{t('user.profile')}</h2>
      <p id="utc-help" class="help">{t('user.utc')}</p>
      <div class="grid">
        {names.map((n) => (
          <FieldEditor key={n} name={n} kind={kinds[n]} draft={draft[n]} readOnly={!editable}
            onChange={(v) => setDraft({ ...draft, [n]: v })} />
        ))}
      </div>
      {editable && <button type="submit">{t('user.save')}</button>}
      <Outcome result={result} />
    </form>
  );
}

function Account({ object, onSaved }) {
  const [draft, setDraft] = useState({});
  const [result, setResult] = useState(null);
  const [password, setPassword] = useState('');
  const [pwResult, setPwResult] = useState(null);
  const fields = [['_username', 'username', 'text'], ['_email', 'email', 'email'], ['_phone', 'phone', 'tel']];
  useEffect(() => setDraft(Object.fromEntries(fields.map(([k, n]) => [n, object[k] || '']))), [object]);

  function save(event) {
    event.preventDefault();
    attempt(setResult, async () => {
      const changes = {};
      for (const [k, n] of fields) if (draft[n] !== (object[k] || '')) changes[n] = draft[n];
      if (Object.keys(changes).length === 0) throw new Error(t('user.nothing'));
      await api('PUT', account(object.id), changes);
      onSaved(await api('GET', user(object.id)));
    }, t('user.saved'));
  }
  function setPasswordNow(event) {
    event.preventDefault();
    attempt(setPwResult, async () => {
      await api('PUT', account(object.id), { password });
      setPassword('');
    }, t('user.passwordSet'));
  }
  return (
    <section class="card" aria-labelledby="account-title">
      <h2 id="account-title">{t('user.account')}</h2>
      <form onSubmit={save}>
        <div class="grid">
          {fields.map(([, n, type]) => (
            <label key={n}>
              {t(`mode.${n}`)}
              <input type={type} value={draft[n] || ''} autocomplete="off"
                onInput={(e) => setDraft({ ...draft, [n]: e.currentTarget.value })} />
            </label>
          ))}
        </div>
        <button type="submit">{t('user.saveAccount')}</button>
        <Outcome result={result} />
      </form>
      <form onSubmit={setPasswordNow}>
        {/* Whose password this is, for password managers (never shown). */}
        <input type="text" hidden readOnly autocomplete="username" value={object._username || ''} />
        <label>
          {t('user.newPassword')}
          <input type="password" autocomplete="new-password" required value={password}
            onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <button type="submit">{t('user.setPassword')}</button>
        <Outcome result={pwResult} />
      </form>
    </section>
  );
}

function Access({ object, onChanged }) {
  const [until, setUntil] = useState('');
  const [result, setResult] = useState(null);
  const isDisabled = Boolean(object._disabled);
  function disable(event) {
    event.preventDefault();
    attempt(setResult, async () => {
      const seconds = until ? Math.floor(Date.parse(`${until}:00Z`) / 1000) : null;
      await api('PUT', disabled(object.id), { until: seconds });
      onChanged();
    }, t('user.disabledNow'));
  }
  function enable() {
    attempt(setResult, async () => {
      await api('DELETE', disabled(object.id));
      onChanged();
    }, t('user.enabledNow'));
  }
  function logOutEverywhere() {
    attempt(setResult, () => api('POST', revoke(object.id)), t('user.revoked'));
  }
  return (
    <section class="card" aria-labelledby="access-title">
      <h2 id="access-title">{t('user.access')}</h2>
      <p class="status-line">
        {isDisabled
          ? t('user.isDisabled', object._disabled_until ? time(object._disabled_until) : t('user.untilEnabled'))
          : t('user.isEnabled')}
      </p>
      <button type="button" onClick={logOutEverywhere}>{t('user.revoke')}</button>
      {isDisabled ? (
        <button type="button" onClick={enable}>{t('user.enable')}</button>
      ) : (
        <form onSubmit={disable} class="row">
          <label>
            {t('user.until')}
            <input type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
          </label>
          <button type="submit" class="danger">{t('user.disable')}</button>
        </form>
      )}
      <Outcome result={result} />
    </section>
  );
}

function Audit({ id, version }) {
  const [state, setState] = useState({});
  const [cursor, setCursor] = useState(null);
  useEffect(() => {
    api('GET', audit(id) + (cursor ? `?cursor=${encodeURIComponent(cursor)}` : '')).then(
      (data) => setState({ data }),
      (e) => setState({ error: e.message }),
    );
  }, [id, version, cursor]);
  const records = (state.data && state.data.objects) || [];
  const next = state.data && state.data.meta && state.data.meta.next;
  const columns = ['at_ms', 'event', 'outcome', 'detail', 'caller', 'caller_id', 'source_ip', 'request_id'];
  return (
    <section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title">{t('user.audit')}</h2>
      {state.error && <p role="alert" class="error">{state.error}</p>}
      {records.length === 0 && !state.error && <p>{t('user.noAudit')}</p>}
      {records.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">{t('user.audit')}</caption>
            <thead><tr>{columns.map((c) => <th scope="col" key={c}>{c}</th>)}</tr></thead>
            <tbody>
              {records.map((r, i) => (
                <tr key={r.id || i}>
                  {columns.map((c) => (
                    <td key={c}>
                      {c === 'at_ms' && r.at_ms ? new Date(r.at_ms).toISOString()
                        : r[c] === undefined || r[c] === null ? '—'
                          : typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(next || cursor) && (
        <div class="pager">
          {cursor && <button type="button" onClick={() => setCursor(null)}>{t('user.auditNewest')}</button>}
          {next && (
            <button type="button" onClick={() => setCursor(new URLSearchParams(next.split('?')[1] || '').get('cursor'))}>
              {t('users.next')}
            </button>
          )}
        </div>
      )}
    </section>
  );
}

export function UserPage({ id, role, fields }) {
  const [state, setState] = useState({ loading: true });
  const [version, setVersion] = useState(0);
  const load = () => api('GET', user(id)).then(
    (object) => setState({ object }),
    (e) => setState({ error: e.status === 404 ? t('user.notFound', id) : e.message }),
  );
  useEffect(() => { load(); }, [id]);
  const saved = (object) => {
    setState({ object });
    setVersion(version + 1);
  };
  const changed = () => load().then(() => setVersion((v) => v + 1));
  const { object } = state;
  return (
    <section aria-labelledby="user-title">
      <p><a href={href({ view: 'users' })} onClick={(e) => follow(e, { view: 'users' })}>{t('user.back')}</a></p>
      <h1 id="user-title">{t('user.title', id)}</h1>
      {state.loading && <p role="status">{t('common.loading')}</p>}
      {state.error && <p role="alert" class="error">{state.error}</p>}
      {object && (
        <>
          <dl class="facts">
            <dt>_user_id</dt><dd>{object._user_id}</dd>
            <dt>created_at</dt><dd>{time(object.created_at)}</dd>
            <dt>updated_at</dt><dd>{time(object.updated_at)}</dd>
          </dl>
          <Profile object={object} role={role} fields={fields || {}} onSaved={saved} />
          {can.admin(role) && <Account object={object} onSaved={saved} />}
          {can.admin(role) && <Access object={object} onChanged={changed} />}
          <Audit id={id} version={version} />
        </>
      )}
    </section>
  );
}
