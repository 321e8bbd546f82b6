// Admin (admin scope): API keys (create with scopes and expiry, the secret shown once, revoke), the audit log with
// filters and paging, and the operator's other tools.

import { api, session } from '../api.js';
import { h, clear, field, errorBox, showError, confirmDialog, when, toast, badge, cursorPager } from '../ui.js';

export async function render(main, [tab = 'keys'], signal) {
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Admin' },
    [['keys', 'API keys'], ['audit', 'Audit log'], ['tools', 'Tools']].map(([id, title]) =>
      h('a', { href: `#/admin/${id}`, 'aria-current': id === tab ? 'page' : null }, title)));
  const body = h('div');
  clear(main, h('h1', {}, 'Admin'), tabs, body);
  if (tab === 'audit') await renderAudit(body, signal);
  else if (tab === 'tools') renderTools(body);
  else await renderKeys(body, signal);
}

async function renderKeys(body, signal) {
  const list = h('div', { id: 'keys' });
  const name = h('input', { type: 'text', required: true, maxlength: 128, placeholder: 'support-bot production' });
  const scopes = ['admin', 'train', 'predict'].map(scope => h('input', { type: 'checkbox', value: scope, id: `scope-${scope}`, checked: scope === 'predict' }));
  const expires = h('input', { type: 'date' });
  const created = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', onsubmit: async e => {
    e.preventDefault();
    clear(created);
    const request = { name: name.value.trim(), scopes: scopes.filter(s => s.checked).map(s => s.value) };
    if (expires.value) request.expires_at = new Date(`${expires.value}T00:00:00Z`).toISOString();
    try {
      const result = await api('/v1/api-keys', { method: 'POST', json: request });
      const secret = h('input', { type: 'text', readonly: true, value: result.secret, id: 'new-secret', class: 'secret' });
      const copied = h('span', { 'aria-live': 'polite' });
      clear(created, h('div', { class: 'result' },
        h('h3', {}, `Key ${result.key.name} made`),
        h('p', {}, h('strong', {}, 'Copy the secret now: it is shown only this once.'), ' The service keeps only its hash.'),
        field('Secret', secret),
        h('button', { type: 'button', onclick: async () => {
          try { await navigator.clipboard.writeText(result.secret); copied.textContent = ' Copied.'; }
          catch { secret.select(); copied.textContent = ' Selected: press Ctrl+C to copy.'; }
        } }, 'Copy'), copied));
      name.value = '';
      await loadKeys(list);
    } catch (error) { showError(created, error); }
  } },
  h('h2', {}, 'Make a key'),
  h('div', { class: 'grid' }, field('Name', name, 'What the key is for.'),
    h('fieldset', {}, h('legend', {}, 'Scopes'), scopes.map(s => h('div', { class: 'check' }, s, h('label', { for: s.id }, s.value))),
      h('small', { class: 'hint' }, 'admin: everything; train: datasets, jobs, releases; predict: models and predictions.')),
    field('Expires on', expires, 'Empty: never expires.')),
  h('button', { type: 'submit' }, 'Make key'), created);
  clear(body, form, h('h2', {}, 'Keys'), list);
  await loadKeys(list, signal);
}

async function loadKeys(list, signal) {
  const page = await api('/v1/api-keys', { signal });
  const message = h('div');

  async function revoke(k) {
    const own = k.id === session.info?.id;
    const body = h('p', {}, `Requests with ${k.prefix}… are refused from the next one on.${own ? ' This is the key you are signed in with: you will be signed out.' : ''}`);
    if (!await confirmDialog(`Revoke ${k.name}?`, body, 'Revoke key', { danger: true })) return;
    try {
      await api(`/v1/api-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
      toast(`Revoked ${k.name}.`);
      await loadKeys(list);
    } catch (error) { showError(message, error); }
  }

  const state = k => k.revoked_at ? badge('revoked') : k.expires_at && new Date(k.expires_at) < new Date() ? badge('expired') : badge('active');
  const row = k => h('tr', {},
    h('td', {}, k.name), h('td', {}, h('code', {}, k.id)), h('td', {}, k.scopes.join(', ')), h('td', {}, h('code', {}, k.prefix)),
    h('td', {}, when(k.created_at)), h('td', {}, k.expires_at ? when(k.expires_at) : 'never'), h('td', {}, when(k.last_used_at)),
    h('td', {}, state(k)),
    h('td', {}, k.revoked_at ? null : h('button', { type: 'button', class: 'danger small', 'aria-label': `Revoke ${k.name}`, onclick: () => revoke(k) }, 'Revoke…')));
  const headings = ['Name', 'Id', 'Scopes', 'Prefix', 'Created', 'Expires', 'Last used', 'State', 'Action'];
  clear(list, message,
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, headings.map(t => h('th', { scope: 'col' }, t)))), h('tbody', {}, page.data.map(row)))));
}

async function renderAudit(body, signal) {
  const action = h('select', {}, ['', 'dataset.upload', 'dataset.delete', 'base_model.upload', 'base_model.delete', 'fine_tuning_job.create', 'fine_tuning_job.cancel', 'model_version.delete', 'model_alias.set', 'model_alias.delete', 'api_key.create', 'api_key.revoke', 'api_key.update']
    .map(a => h('option', { value: a }, a || 'any')));
  const resourceType = h('input', { type: 'text', placeholder: 'any' });
  const resourceId = h('input', { type: 'text', placeholder: 'any' });
  const list = h('div', { id: 'audit' });
  const load = (after = null, previous = []) => loadAudit(list, { action: action.value, resource_type: resourceType.value.trim(), resource_id: resourceId.value.trim() }, after, previous, load);
  const form = h('form', { class: 'card', onsubmit: e => { e.preventDefault(); load().catch(error => showError(list, error)); } },
    h('div', { class: 'grid' }, field('Action', action), field('Resource type', resourceType, 'dataset, base_model, fine_tuning_job, model_version, model_alias, api_key'), field('Resource id', resourceId)),
    h('button', { type: 'submit' }, 'Filter'));
  clear(body, form, list);
  await load();
}

async function loadAudit(list, filters, after, previous, load) {
  const query = new URLSearchParams({ limit: 50 });
  Object.entries(filters).forEach(([k, v]) => { if (v) query.set(k, v); });
  if (after) query.set('after', after);
  try {
    const page = await api(`/v1/audit?${query}`);
    clear(list, page.data.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['When', 'Actor', 'Action', 'Resource', 'From', 'Details'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, page.data.map(e => h('tr', {},
        h('td', {}, when(e.occurred_at)), h('td', {}, h('code', {}, e.actor)), h('td', {}, h('code', {}, e.action)),
        h('td', {}, `${e.resource_type} `, h('code', {}, e.resource_id)), h('td', {}, e.remote_ip ?? '—'),
        h('td', {}, Object.entries(e.details).map(([k, v]) => h('div', {}, `${k}: ${v}`))))))))
      : h('p', { class: 'muted' }, 'No entries match.'),
    cursorPager(page, after, previous, load));
  } catch (error) { clear(list, errorBox(error)); }
}

function renderTools(body) {
  const metrics = h('pre', { class: 'metrics-text', tabindex: '0', 'aria-label': 'Prometheus metrics' });
  const slot = h('div');
  clear(body,
    h('ul', { class: 'tools' },
      h('li', {}, h('a', { href: '/swagger', target: '_blank', rel: 'noopener' }, 'Swagger UI'), ': the API reference; its Authorize button takes a key.'),
      h('li', {}, h('a', { href: '/swagger/v1/swagger.json', target: '_blank', rel: 'noopener' }, 'OpenAPI document'), '.'),
      h('li', {}, h('button', { type: 'button', class: 'secondary', id: 'open-hangfire', onclick: async () => {
        // A page opened by navigation sends no key header: the service first sets a cookie that only /hangfire
        // receives and no script can read (POST /v1/hangfire-session), then the dashboard opens in a new tab.
        const tab = window.open('about:blank', '_blank');
        try {
          await api('/v1/hangfire-session', { method: 'POST' });
          if (tab) { tab.opener = null; tab.location.href = '/hangfire'; } else { location.href = '/hangfire'; }
        } catch (error) { tab?.close(); showError(slot, error); }
      } }, 'Open the Hangfire dashboard'), ': the job queue, in a new tab (a 30-minute session for this browser, ended by signing out).'),
      h('li', {}, h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { metrics.textContent = await api('/metrics', { accept: 'text/plain' }); } catch (error) { showError(slot, error); }
      } }, 'Show /metrics'), ' (Prometheus text, fetched with your key).')),
    slot, metrics);
}
