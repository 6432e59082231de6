import { t } from './i18n.js';

/** The MinApp user object's built-in keys (shared/domain/src/profile.rs `Builtin`) and the
 * console's own; every other key is a custom field declared in USER_FIELDS. */
const BUILTIN = new Set(['id', 'user_id', 'created_by', 'created_at', 'updated_at', 'nickname', 'avatar',
  'gender', 'country', 'province', 'city', 'language', '_username', '_email', '_phone', '_email_verified',
  '_phone_verified', 'openid', 'unionid', '_user_id', '_disabled', '_disabled_until']);
/** The built-ins an editor may change (README "Updates"). */
export const WRITABLE = ['nickname', 'avatar', 'gender', 'country', 'province', 'city', 'language'];

export const isCustom = (key) => !BUILTIN.has(key);

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const KINDS = new Set(['string', 'integer', 'number', 'boolean', 'array', 'object', 'date']);

/** A field's type in USER_FIELDS' words: as declared when the session names the custom
 * fields' types (`fields: {"level": "integer", ...}`), else as far as its value tells. */
export function kindOf(name, value, declared = {}) {
  if (KINDS.has(declared[name])) return declared[name];
  if (name === 'gender') return 'integer';
  if (value === null || value === undefined) return WRITABLE.includes(name) ? 'string' : 'json';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  if (DATE.test(value)) return 'date';
  return 'string';
}

/** A value as its editor holds it (text, or a boolean for a checkbox). */
export function draftOf(kind, value) {
  if (kind === 'boolean') return Boolean(value);
  if (value === null || value === undefined) return '';
  if (kind === 'array' || kind === 'object' || kind === 'json') return JSON.stringify(value, null, 1);
  if (kind === 'date') return value.slice(0, 16);
  return String(value);
}

/** The value to send for an editor's draft; throws a message naming the field when malformed. */
export function valueOf(name, kind, draft) {
  if (kind === 'boolean') return draft;
  if (draft === '') return null;
  switch (kind) {
    case 'integer':
    case 'number': {
      const n = Number(draft);
      if (!Number.isFinite(n) || (kind === 'integer' && !Number.isInteger(n))) throw new Error(t('field.badNumber', name));
      return n;
    }
    case 'array':
    case 'object':
    case 'json':
      try {
        return JSON.parse(draft);
      } catch {
        if (kind === 'json') return draft;
        throw new Error(t('field.badJson', name));
      }
    case 'date':
      return `${draft}:00Z`;
    default:
      return draft;
  }
}

export function FieldEditor({ name, kind, draft, onChange, readOnly }) {
  const id = `field-${name}`;
  if (kind === 'boolean') {
    return (
      <div class="field">
        <label class="check" for={id}>
          <input id={id} type="checkbox" checked={draft} disabled={readOnly}
            onChange={(e) => onChange(e.currentTarget.checked)} />
          {name} <span class="kind">({t(`kind.${kind}`)})</span>
        </label>
      </div>
    );
  }
  const label = <label for={id}>{name} <span class="kind">({t(`kind.${kind}`)})</span></label>;
  const common = { id, readOnly, onInput: (e) => onChange(e.currentTarget.value), value: draft };
  let input;
  if (kind === 'array' || kind === 'object' || kind === 'json') input = <textarea rows="3" spellcheck={false} {...common} />;
  else if (kind === 'integer') input = <input type="number" step="1" {...common} />;
  else if (kind === 'number') input = <input type="number" step="any" {...common} />;
  else if (kind === 'date') input = <input type="datetime-local" {...common} aria-describedby="utc-help" />;
  else input = <input type="text" {...common} />;
  return <div class="field">{label}{input}</div>;
}

/** A value in a table cell: text as is, times as dates, anything else as JSON. */
export function Cell({ value }) {
  if (value === null || value === undefined) return <span class="null">—</span>;
  if (typeof value === 'object') return <code>{JSON.stringify(value)}</code>;
  return String(value);
}

export function time(seconds) {
  return seconds ? new Date(seconds * 1000).toISOString().replace('.000Z', 'Z') : '—';
}
