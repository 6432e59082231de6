import { useState } from 'preact/hooks';
import { api, BATCH, LIST, query } from './api.js';
import { t } from './i18n.js';
import { navigate } from './route.js';
import { Cell } from './fields.jsx';

const PREVIEW = 5;
/** The most pages one run follows along `next` (each at most 1000 users). */
const MAX_PAGES = 50;

function parse(text, name) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(t('batch.badJson', name, e.message));
  }
}

export function Batch({ route }) {
  // The where is in the URL (a batch can be bookmarked); the update is typed each time.
  const [where, setWhere] = useState(route.where || '');
  const [update, setUpdate] = useState('');
  const [preview, setPreview] = useState(null);
  const [report, setReport] = useState(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function run(action) {
    setBusy(true);
    setError('');
    try {
      await action();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  function doPreview(event) {
    event.preventDefault();
    run(async () => {
      const w = parse(where, 'where');
      navigate({ view: 'batch', where }, { replace: true });
      setReport(null);
      const data = await api('GET', LIST + query({ where: w, limit: PREVIEW, return_total_count: '1' }));
      setPreview({ where, count: data.meta.total_count, objects: data.objects });
    });
  }

  function doUpdate(event) {
    event.preventDefault();
    run(async () => {
      const body = parse(update, 'update');
      const results = [];
      let path = BATCH + query({ where: parse(preview.where, 'where'), limit: '1000' });
      for (let page = 0; path && page < MAX_PAGES; page += 1) {
        const data = await api('PUT', path, body);
        results.push(...(data.operation_result || []));
        path = data.next || null;
      }
      setReport(results);
    });
  }

  const succeeded = report ? report.filter((r) => r.success).length : 0;
  return (
    <section aria-labelledby="batch-title">
      <h1 id="batch-title">{t('batch.title')}</h1>
      <form class="card" onSubmit={doPreview}>
        <label>
          {t('users.where')}
          <textarea rows="4" spellcheck={false} required value={where} aria-describedby="batch-where-help"
            onInput={(e) => { setWhere(e.currentTarget.value); setPreview(null); }}
            placeholder='{"vip": true}' />
        </label>
        <p id="batch-where-help" class="help">{t('users.whereHelp')}</p>
        <button type="submit" disabled={busy}>{t('batch.preview')}</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {preview && (
        <section class="card" aria-labelledby="preview-title">
          <h2 id="preview-title">{t('batch.matches', preview.count)}</h2>
          <ul class="preview">
            {preview.objects.map((o) => (
              <li key={o.id}>#{o.id} <Cell value={o.nickname} /> <Cell value={o._username} /></li>
            ))}
          </ul>
          <form onSubmit={doUpdate}>
            <label>
              {t('batch.update')}
              <textarea rows="4" spellcheck={false} required value={update} aria-describedby="update-help"
                onInput={(e) => setUpdate(e.currentTarget.value)} placeholder='{"level": {"$incr_by": 1}}' />
            </label>
            <p id="update-help" class="help">{t('batch.updateHelp')}</p>
            <button type="submit" disabled={busy || preview.count === 0}>{t('batch.run', preview.count)}</button>
          </form>
        </section>
      )}
      {report && (
        <section class="card" aria-labelledby="report-title">
          <h2 id="report-title">{t('batch.report', succeeded, report.length - succeeded)}</h2>
          <div class="table-wrap">
            <table>
              <caption class="sr-only">{t('batch.reportCaption')}</caption>
              <thead><tr><th scope="col">id</th><th scope="col">{t('batch.outcome')}</th></tr></thead>
              <tbody>
                {report.map((r, i) => (
                  <tr key={i}>
                    <td>{(r.success || r.error || {}).id ?? '—'}</td>
                    <td>{r.success ? t('batch.ok') : <code>{JSON.stringify(r.error || r)}</code>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </section>
  );
}
