// All of the console's state lives in the URL's query (`/console/?view=users&mode=...`), so a
// search can be bookmarked and shared; the function serves /console/ whatever the query.
import { useEffect, useState } from 'preact/hooks';

function current() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

const listeners = new Set();

export function navigate(params, { replace = false } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  }
  const url = `${location.pathname}${q.toString() ? `?${q}` : ''}`;
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  listeners.forEach((f) => f());
}

export function useRoute() {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** A link within the console: a real href (open in a new tab works), navigated in place. */
export function href(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  return `${location.pathname}?${q}`;
}

export function follow(event, params) {
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(params);
}
