// The console's only way to the service: the public REST API, with the signed-in key in a header.
// The key lives in this tab's session storage; it is never put in a URL or a cookie.

const KEY_ITEM = 'tcs.apiKey';
const listeners = new Set();

/** The signed-in key and what it may do (from GET /v1/api-keys/current). */
export const session = {
  get key() { return sessionStorage.getItem(KEY_ITEM); },
  info: null,
  signIn(key, info) { sessionStorage.setItem(KEY_ITEM, key); this.info = info; },
  signOut() { sessionStorage.removeItem(KEY_ITEM); this.info = null; },
  has(scope) { const scopes = this.info?.scopes ?? []; return scopes.includes('admin') || scopes.includes(scope); },
};

/** Called with the problem when the service refuses the key (401), so the app can send the user to sign in. */
export function onUnauthorized(listener) { listeners.add(listener); }

/** An API error as problem details: title, detail and field errors, ready to show. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.status = status;
    this.title = problem.title;
    this.detail = problem.detail ?? null;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.requestId = problem.request_id ?? null;
  }
}

function headers(extra) {
  const result = new Headers(extra);
  if (session.key) result.set('Authorization', `Bearer ${session.key}`);
  if (!result.has('Accept')) result.set('Accept', 'application/json');
  return result;
}

async function problemOf(status, text, statusText) {
  let problem = {};
  try { problem = JSON.parse(text); } catch { /* not JSON: a proxy's page, say */ }
  if (typeof problem !== 'object' || problem === null) problem = {};
  if (typeof problem.error === 'string' && !problem.title) problem = { title: problem.error };
  problem.title ??= `${status} ${statusText || 'error'}`;
  if (!problem.detail && !problem.errors && text && !text.trimStart().startsWith('{')) problem.detail = text.slice(0, 300);
  return new ApiError(status, problem);
}

function refused(error, path) {
  if (error.status === 401 && path !== '/v1/api-keys/current') listeners.forEach(l => l(error));
  return error;
}

/**
 * Calls the API. `json` is sent as a JSON body; `body` as is (FormData). Returns the parsed JSON (or text), or the
 * Response itself with `raw`. Throws ApiError for every refusal, with the service's problem details.
 */
export async function api(path, { method = 'GET', json, body, accept, raw = false, signal } = {}) {
  const h = headers(accept ? { Accept: accept } : undefined);
  if (json !== undefined) { h.set('Content-Type', 'application/json'); body = JSON.stringify(json); }
  let response;
  try {
    response = await fetch(path, { method, headers: h, body, signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'The service cannot be reached', detail: String(e.message ?? e) });
  }
  if (!response.ok) throw refused(await problemOf(response.status, await response.text(), response.statusText), path);
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') ?? '';
  return type.includes('json') ? response.json() : response.text();
}

/** Multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can). */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    headers().forEach((value, name) => request.setRequestHeader(name, value));
    request.upload.addEventListener('progress', e => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    request.addEventListener('load', async () => {
      if (request.status >= 200 && request.status < 300) {
        resolve(JSON.parse(request.responseText));
      } else {
        reject(refused(await problemOf(request.status, request.responseText, request.statusText), path));
      }
    });
    request.addEventListener('error', () => reject(new ApiError(0, { title: 'The upload failed', detail: 'The connection to the service was lost.' })));
    request.send(form);
  });
}

/**
 * Follows a job's server-sent events (GET …/events with Accept: text/event-stream). EventSource cannot send the key
 * header, so the stream is read with fetch and parsed here; a dropped connection resumes after the last event id.
 * Resolves when the service sends `end` or the signal aborts.
 */
export async function followEvents(path, onEvent, signal) {
  let lastId = null;
  while (!signal.aborted) {
    try {
      const h = headers({ Accept: 'text/event-stream' });
      if (lastId !== null) h.set('Last-Event-ID', String(lastId));
      const response = await fetch(path, { headers: h, signal, cache: 'no-store' });
      if (!response.ok) throw refused(await problemOf(response.status, await response.text(), response.statusText), path);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message = { id: null, event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') message.id = text;
            else if (field === 'event') message.event = text;
            else if (field === 'data') message.data += text;
          }
          if (message.event === 'end') return;
          if (message.id !== null) lastId = message.id;
          if (message.data) onEvent(JSON.parse(message.data));
        }
      }
    } catch (e) {
      if (signal.aborted || e.name === 'AbortError') return;
      if (e instanceof ApiError && e.status !== 0 && e.status < 500) throw e;
    }
    await new Promise(r => setTimeout(r, 1000));
  }
}
