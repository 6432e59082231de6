import { useEffect, useState } from 'preact/hooks';
import { api, operator, OPERATORS } from './api.js';
import { t } from './i18n.js';
import { time } from './fields.jsx';

const ROLES = ['viewer', 'editor', 'admin'];

function RoleSelect({ value, onChange, label }) {
  return (
    <select value={value} onChange={(e) => onChange(e.currentTarget.value)} aria-label={label}>
      {ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}
    </select>
  );
}

export function Operators({ self }) {
  const [list, setList] = useState(null);
  const [result, setResult] = useState(null);
  const [draft, setDraft] = useState({ username: '', password: '', role: 'viewer' });

  const load = () => api('GET', OPERATORS).then((d) => setList(d.objects), (e) => setResult({ error: e.message }));
  useEffect(() => { load(); }, []);

  async function act(action, ok) {
    try {
      await action();
      setResult({ ok });
      await load();
    } catch (e) {
      setResult({ error: e.message });
    }
  }
  function add(event) {
    event.preventDefault();
    act(async () => {
      await api('POST', OPERATORS, draft);
      setDraft({ username: '', password: '', role: 'viewer' });
    }, t('operators.added', draft.username));
  }

  return (
    <section aria-labelledby="operators-title">
      <h1 id="operators-title">{t('operators.title')}</h1>
      {result && (result.error
        ? <p role="alert" class="error">{result.error}</p>
        : <p role="status" class="ok">{result.ok}</p>)}
      {list && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">{t('operators.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('login.username')}</th>
                <th scope="col">{t('operators.role')}</th>
                <th scope="col">created_at</th>
                <th scope="col">{t('operators.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((o) => (
                <tr key={o.username}>
                  <td>{o.username}</td>
                  <td>
                    <RoleSelect value={o.role} label={t('operators.roleOf', o.username)}
                      onChange={(role) => act(() => api('PUT', operator(o.username), { role }), t('operators.changed', o.username))} />
                  </td>
                  <td>{typeof o.created_at === 'number' ? time(o.created_at) : String(o.created_at ?? '—')}</td>
                  <td>
                    {o.username !== self && (
                      <button type="button" class="danger" aria-label={t('operators.removeOf', o.username)}
                        onClick={() => act(() => api('DELETE', operator(o.username)), t('operators.removed', o.username))}>
                        {t('operators.remove')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="card" onSubmit={add} aria-labelledby="add-title">
        <h2 id="add-title">{t('operators.add')}</h2>
        <div class="grid">
          <label>
            {t('login.username')}
            <input required autocomplete="off" value={draft.username}
              onInput={(e) => setDraft({ ...draft, username: e.currentTarget.value })} />
          </label>
          <label>
            {t('login.password')}
            <input type="password" required autocomplete="new-password" value={draft.password}
              onInput={(e) => setDraft({ ...draft, password: e.currentTarget.value })} />
          </label>
          <label>
            {t('operators.role')}
            <select value={draft.role} onChange={(e) => setDraft({ ...draft, role: e.currentTarget.value })}>
              {ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}
            </select>
          </label>
        </div>
        <button type="submit">{t('operators.addSubmit')}</button>
      </form>
    </section>
  );
}
