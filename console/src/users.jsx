import { useEffect, useState } from 'preact/hooks';
import { api, LIST, LOOKUP, offsetOf, query, user } from './api.js';
import { t } from './i18n.js';
import { follow, href, navigate } from './route.js';
import { Cell } from './fields.jsx';

export const MODES = ['nickname', 'id', 'user_id', 'username', 'email', 'phone'];
const MODE_FIELD = { user_id: '_user_id' };
/** Modes answered by the account lookup (`GET /console/users/lookup`), not by a `where`. */
const ACCOUNT_MODES = ['username', 'email', 'phone'];
/** The orders the directory serves by reading only up to the page. */
export const DIRECTORY_ORDERS = ['-created_at', 'created_at'];
const COSTLY_ORDERS = ['-updated_at', 'updated_at', 'nickname', '-nickname'];
const DEFAULT_COLUMNS = ['id', 'nickname', '_username', '_email', '_phone', 'created_at'];
const LIMITS = ['20', '50', '100'];
/** Not sortable by the API: gender country province city language, arrays and objects. */
const UNSORTABLE = new Set(['gender', 'country', 'province', 'city', 'language', 'avatar']);

/** The MinApp `where` a search mode and text stand for (console-api.md), ANDed with the
 * advanced `where` when both are given. Throws on malformed advanced JSON. */
export function whereOf(mode, q, advanced) {
  const parts = [];
  if (q && mode === 'nickname') parts.push({ nickname: { $contains: q } });
  else if (q && MODE_FIELD[mode]) parts.push({ [MODE_FIELD[mode]]: { $eq: q } });
  if (advanced && advanced.trim()) parts.push(JSON.parse(advanced));
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0] : { $and: parts };
}

function SearchForm({ route }) {
  const [mode, setMode] = useState(route.mode || 'nickname');
  const [q, setQ] = useState(route.q || '');
  const [where, setWhere] = useState(route.where || '');
  const [open, setOpen] = useState(Boolean(route.where));
  const [error, setError] = useState('');
  useEffect(() => {
    setMode(route.mode || 'nickname');
    setQ(route.q || '');
    setWhere(route.where || '');
  }, [route.mode, route.q, route.where]);

  function submit(event) {
    event.preventDefault();
    if (where.trim()) {
      try {
        JSON.parse(where);
      } catch (e) {
        setError(t('users.badWhere', e.message));
        return;
      }
    }
    setError('');
    navigate({ ...route, view: 'users', mode, q, where: where.trim(), offset: '' });
  }

  return (
    <form class="search card" role="search" onSubmit={submit}>
      <div class="row">
        <label>
          {t('users.mode')}
          <select value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
            {MODES.map((m) => <option value={m} key={m}>{t(`mode.${m}`)}</option>)}
          </select>
        </label>
        <label class="grow">
          {t('users.search')}
          <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)}
            inputMode={mode === 'id' ? 'numeric' : undefined} placeholder={t(`mode.${mode}.hint`)} />
        </label>
        <button type="submit">{t('users.find')}</button>
      </div>
      <details open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
        <summary>{t('users.advanced')}</summary>
        <label>
          {t('users.where')}
          <textarea rows="4" spellcheck={false} value={where} onInput={(e) => setWhere(e.currentTarget.value)}
            placeholder='{"level": {"$gte": 3}, "vip": true}' aria-describedby="where-help" />
        </label>
        <p id="where-help" class="help">{t('users.whereHelp')}</p>
      </details>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}

function ColumnChooser({ known, columns, route }) {
  function toggle(name, on) {
    const next = on ? [...columns, name] : columns.filter((c) => c !== name);
    navigate({ ...route, cols: next.join(',') }, { replace: true });
  }
  return (
    <details class="columns">
      <summary>{t('users.columns')}</summary>
      <fieldset>
        <legend>{t('users.columnsLegend')}</legend>
        {known.map((name) => (
          <label key={name} class="check">
            <input type="checkbox" checked={columns.includes(name)}
              onChange={(e) => toggle(name, e.currentTarget.checked)} />
            {name}
          </label>
        ))}
      </fieldset>
    </details>
  );
}

export function Users({ route }) {
  const mode = route.mode || 'nickname';
  const order = route.order || '-created_at';
  const limit = route.limit || '20';
  const offset = Number(route.offset || 0);
  const columns = route.cols ? route.cols.split(',').filter(Boolean) : DEFAULT_COLUMNS;
  const [state, setState] = useState({ loading: true });
  const [known, setKnown] = useState(DEFAULT_COLUMNS);

  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: '' }));
    (async () => {
      // A numeric id, or an account value through its guard (any case, a phone in any of
      // its forms, as sign-up and login match them): the one user, else nobody.
      const one = mode === 'id' ? user(route.q && route.q.trim())
        : ACCOUNT_MODES.includes(mode) ? LOOKUP + query({ [mode]: route.q && route.q.trim() }) : null;
      if (one && route.q) {
        try {
          return { objects: [await api('GET', one)], meta: { total_count: 1 } };
        } catch (e) {
          if (e.status === 404) return { objects: [], meta: { total_count: 0 } };
          throw e;
        }
      }
      const where = whereOf(mode, route.q, route.where);
      return api('GET', LIST + query({
        where: where || '',
        order_by: order,
        limit,
        offset: offset || '',
        return_total_count: route.total ? '1' : '',
      }));
    })().then(
      (data) => {
        if (!live) return;
        setState({ loading: false, data });
        const keys = new Set(known);
        for (const o of data.objects) Object.keys(o).forEach((k) => keys.add(k));
        setKnown([...keys]);
      },
      (e) => live && setState({ loading: false, error: e.message, tooBroad: /examine more than/.test(e.message) }),
    );
    return () => { live = false; };
  }, [mode, route.q, route.where, order, limit, offset, route.total]);

  const { data } = state;
  const meta = (data && data.meta) || {};
  const sortable = known.filter((k) => !UNSORTABLE.has(k) && !k.startsWith('_') && k !== 'id'
    && !DIRECTORY_ORDERS.includes(k) && !COSTLY_ORDERS.includes(k) && !COSTLY_ORDERS.includes(`-${k}`)
    && (!data || data.objects.every((o) => o[k] === null || ['string', 'number', 'boolean'].includes(typeof o[k]))));
  const costly = [...COSTLY_ORDERS, ...sortable.flatMap((k) => [k, `-${k}`])];
  if (!DIRECTORY_ORDERS.includes(order) && !costly.includes(order)) costly.push(order);
  const set = (change) => navigate({ ...route, view: 'users', ...change });
  const nextOffset = offsetOf(meta.next);
  const previousOffset = offsetOf(meta.previous);

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">{t('users.title')}</h1>
      <SearchForm route={route} />
      <div class="toolbar">
        <label>
          {t('users.order')}
          <select value={order} onChange={(e) => set({ order: e.currentTarget.value, offset: '' })}
            aria-describedby="order-help">
            <optgroup label={t('users.ordersFast')}>
              {DIRECTORY_ORDERS.map((o) => <option key={o} value={o}>{t(`order.${o}`)}</option>)}
            </optgroup>
            <optgroup label={t('users.ordersCostly')}>
              {costly.map((o) => <option key={o} value={o}>{orderLabel(o)}</option>)}
            </optgroup>
          </select>
        </label>
        <label>
          {t('users.limit')}
          <select value={limit} onChange={(e) => set({ limit: e.currentTarget.value, offset: '' })}>
            {(LIMITS.includes(limit) ? LIMITS : [limit, ...LIMITS]).map((l) => <option key={l} value={l}>{l}</option>)}
          </select>
        </label>
        <label class="check">
          <input type="checkbox" checked={Boolean(route.total)}
            onChange={(e) => set({ total: e.currentTarget.checked ? '1' : '' })} />
          {t('users.total')}
        </label>
        <ColumnChooser known={known} columns={columns} route={route} />
      </div>
      <p id="order-help" class="help">
        {DIRECTORY_ORDERS.includes(order) ? t('users.orderFastHelp') : t('users.orderCostlyHelp')}
      </p>
      <div aria-live="polite">
        {state.loading && <p role="status">{t('common.loading')}</p>}
        {state.error && (
          <div role="alert" class="error">
            <p>{state.error}</p>
            {state.tooBroad && <p>{t('users.tooBroad')}</p>}
          </div>
        )}
        {data && !state.error && (
          <p class="count" role="status">
            {meta.total_count !== undefined && meta.total_count !== null
              ? t('users.totalIs', meta.total_count)
              : t('users.shown', data.objects.length, offset + 1)}
          </p>
        )}
      </div>
      {data && !state.error && (
        <>
          <div class="table-wrap">
            <table>
              <caption class="sr-only">{t('users.caption')}</caption>
              <thead>
                <tr>{columns.map((c) => <th scope="col" key={c}>{c}</th>)}</tr>
              </thead>
              <tbody>
                {data.objects.map((o) => (
                  <tr key={o.id}>
                    {columns.map((c) => (
                      <td key={c}>
                        {c === 'id'
                          ? <a href={href({ view: 'user', id: o.id })} onClick={(e) => follow(e, { view: 'user', id: o.id })}
                              aria-label={t('users.open', o.id)}>{o.id}</a>
                          : <Cell value={o[c]} />}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {data.objects.length === 0 && <p>{t('users.none')}</p>}
          <nav class="pager" aria-label={t('users.paging')}>
            <button type="button" disabled={previousOffset === null} onClick={() => set({ offset: previousOffset || '' })}>
              {t('users.previous')}
            </button>
            <button type="button" disabled={nextOffset === null} onClick={() => set({ offset: nextOffset })}>
              {t('users.next')}
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

function orderLabel(order) {
  const desc = order.startsWith('-');
  return `${desc ? order.slice(1) : order} ${desc ? '↓' : '↑'}`;
}
