// The console's shell: sign-in, navigation that follows the key's scopes, and a router on location.hash
// (#/datasets, #/jobs/ftjob_…, …). Each page is a module exporting render(main, params, signal).

import { api, session, onUnauthorized, ApiError } from './api.js';
import { h, clear, field, errorBox } from './ui.js';
import * as datasets from './pages/datasets.js';
import * as jobs from './pages/jobs.js';
import * as models from './pages/models.js';
import * as playground from './pages/playground.js';
import * as admin from './pages/admin.js';

/** Pages in the navigation, with the scope each needs (admin holds every scope). */
const sections = [
  { path: 'datasets', title: 'Datasets', scope: 'train', page: datasets },
  { path: 'jobs', title: 'Fine-tuning', scope: 'train', page: jobs },
  { path: 'models', title: 'Models', scope: 'predict', page: models },
  { path: 'playground', title: 'Playground', scope: 'predict', page: playground },
  { path: 'admin', title: 'Admin', scope: 'admin', page: admin },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let current = null;

function allowed() { return sections.filter(s => session.has(s.scope)); }

function renderChrome(active) {
  clear(nav, session.info ? h('ul', {}, allowed().map(s => h('li', {},
    h('a', { href: `#/${s.path}`, 'aria-current': s.path === active ? 'page' : null }, s.title)))) : null);
  clear(who, session.info ? [
    h('span', { class: 'muted', title: session.info.id }, `${session.info.name} · ${session.info.scopes.join(', ')}`),
    h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: signOut }, 'Sign out'),
  ] : null);
}

function signOut() {
  // Ends the Hangfire dashboard's session too (an admin may have opened one); its cookie is not readable here.
  if (session.has('admin')) api('/v1/hangfire-session', { method: 'DELETE' }).catch(() => {});
  session.signOut();
  location.hash = '#/signin';
}

function signInPage(reason) {
  renderChrome(null);
  const input = h('input', { type: 'password', name: 'api-key', autocomplete: 'off', spellcheck: 'false', required: true });
  const message = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card narrow', onsubmit: async e => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    clear(message);
    session.signIn(key, null);
    try {
      session.info = await api('/v1/api-keys/current');
      const next = sessionStorage.getItem('tcs.next');
      sessionStorage.removeItem('tcs.next');
      const target = next && next !== '#/signin' ? next : `#/${allowed()[0]?.path ?? 'models'}`;
      // Signed out in place (a refused key) the address may already be the target, and setting it fires nothing.
      if (location.hash === target) route(); else location.hash = target;
    } catch (error) {
      session.signOut();
      clear(message, errorBox(error.status === 401
        ? { title: 'This key was refused', detail: error.detail ?? 'The key is not valid.' }
        : error));
      input.focus();
    }
  } },
  h('h1', {}, 'Sign in'),
  h('p', {}, 'Paste an API key. The first start of the service prints an admin key; an admin can make narrower keys on the Admin page. ',
    'The key stays in this browser tab only (session storage) and is sent to the service in a header.'),
  field('API key', input, 'Starts with tcs_.'),
  h('button', { type: 'submit' }, 'Sign in'),
  reason ? errorBox(reason) : null,
  message);
  clear(main, form);
  input.focus();
}

async function route() {
  current?.abort();
  current = new AbortController();
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return;
  const [path, ...params] = hash.slice(2).split('/').map(decodeURIComponent);

  if (path === 'signin' || !session.key) {
    if (path !== 'signin' && path) sessionStorage.setItem('tcs.next', hash);
    signInPage();
    return;
  }
  if (!session.info) {
    try {
      session.info = await api('/v1/api-keys/current');
    } catch (error) {
      session.signOut();
      signInPage(error instanceof ApiError && error.status === 401 ? { title: 'Signed out', detail: error.detail } : error);
      return;
    }
  }

  const section = sections.find(s => s.path === path);
  if (!section) {
    location.replace(`#/${allowed()[0]?.path ?? 'models'}`);
    return;
  }
  renderChrome(section.path);
  if (!session.has(section.scope)) {
    clear(main, h('h1', {}, section.title), errorBox({
      title: 'Not allowed with this key',
      detail: `The ${section.title} pages need a key with the ${section.scope} scope; this key has ${session.info.scopes.join(', ')}.`,
    }));
    return;
  }
  clear(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await section.page.render(main, params, current.signal);
    document.title = `${main.querySelector('h1')?.textContent ?? section.title} · Text classification console`;
    main.focus({ preventScroll: true });
  } catch (error) {
    // A refused key has already put the sign-in page in place of this one (onUnauthorized below).
    if (error.name === 'AbortError' || (error instanceof ApiError && error.status === 401)) return;
    clear(main, h('h1', {}, section.title), errorBox(error));
  }
}

onUnauthorized(error => {
  // Stop the page's polling and event stream first: each of their calls would be refused too, and draw the sign-in
  // page again over what the user is typing.
  current?.abort();
  session.signOut();
  if (location.hash && location.hash !== '#/signin') sessionStorage.setItem('tcs.next', location.hash);
  signInPage({ title: 'Your key was refused; sign in again', detail: error.detail });
});

window.addEventListener('hashchange', route);
route();
