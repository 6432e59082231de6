// The console's one way to the API: same origin, the session cookie, and the CSRF token on
// every write (console-api.md). Errors carry MinApp's `error_msg` and the HTTP status.

let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && (data.error_msg || data.message)) || `HTTP ${response.status}`;
    // The session ended while the page was open: the page goes back to its login form.
    if (response.status === 401 && path !== SESSION) dispatchEvent(new Event('console:unauthorized'));
    throw new ApiError(response.status, message, response.headers.get('retry-after'));
  }
  return data;
}

export const LIST = '/userve/v2.2/miniapp/user_profile/';
export const LOOKUP = '/console/users/lookup';
export const user = (id) => `/userve/v2.2/miniapp/user_profile/${encodeURIComponent(id)}/`;
export const userUpdate = (id) => `/userve/v2.6/miniapp/user_profile/${encodeURIComponent(id)}/`;
export const BATCH = '/userve/v2.6/miniapp/user_profile/';
export const account = (id) => `/userve/v2.2/miniapp/user/account/${encodeURIComponent(id)}/`;
export const audit = (id) => `/userve/v2.2/miniapp/user/audit/${encodeURIComponent(id)}/`;
export const revoke = (id) => `/console/users/${encodeURIComponent(id)}/revoke`;
export const disabled = (id) => `/console/users/${encodeURIComponent(id)}/disabled`;
export const OPERATORS = '/console/operators';
export const operator = (name) => `/console/operators/${encodeURIComponent(name)}`;
export const SESSION = '/console/session';

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The `offset` a `meta.next`/`meta.previous` link asks for (the API's own paging). */
export function offsetOf(link) {
  if (!link) return null;
  const q = link.includes('?') ? link.slice(link.indexOf('?') + 1) : '';
  const offset = new URLSearchParams(q).get('offset');
  return offset === null ? null : Number(offset);
}
