// The REST API from the browser: JSON in and out, the API key (localStorage) as a Bearer token,
// and the server's one-line {"error": ...} turned into an Error with that message.

const KEY = "drugforge.apiKey";

export function getKey() {
  return localStorage.getItem(KEY) || "";
}

export function setKey(key) {
  if (key) localStorage.setItem(KEY, key.trim());
  else localStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(extra = {}) {
  const key = getKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (typeof body.error === "string") message = body.error;
    else if (Array.isArray(body.detail)) {
      message = body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    } else if (typeof body.detail === "string") message = body.detail;
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 401 && !getKey()) message += " (set your API key on the Jobs page)";
  return new ApiError(response.status, message);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** fetch(path) with the key; returns the Response, throws ApiError on a non-2xx answer.
 *  A 429 (the key's rate limit) is retried after the server's Retry-After, up to 3 times. */
export async function request(path, options = {}) {
  for (let attempt = 0; ; attempt++) {
    let response;
    try {
      response = await fetch(path, { ...options, headers: headers(options.headers || {}) });
    } catch (err) {
      throw new ApiError(0, `cannot reach the server (${err.message})`);
    }
    if (response.status === 429 && attempt < 3) {
      const wait = Number(response.headers.get("Retry-After")) || 1;
      await sleep(1000 * Math.min(30, Math.max(1, wait)));
      continue;
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}

export async function getJSON(path) {
  return (await request(path)).json();
}

export async function postJSON(path, body, method = "POST") {
  const r = await request(path, {
    method, body: JSON.stringify(body), headers: { "Content-Type": "application/json" },
  });
  return r.json();
}

export async function postFile(path, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return (await request(path, { method: "POST", body: form })).json();
}

export async function del(path) {
  return (await request(path, { method: "DELETE" })).json();
}

/** Profile SMILES in chunks (smaller ones when the server says 413); rows in input order. */
export async function profileAll(smiles, { onChunk = () => {}, chunk = 100, panel = true } = {}) {
  const rows = [];
  let size = chunk;
  for (let start = 0; start < smiles.length;) {
    const part = smiles.slice(start, start + size);
    try {
      const body = await postJSON("/v1/profile", { smiles: part, panel, percentiles: false });
      rows.push(...body.rows);
      start += part.length;
      onChunk(rows.length, smiles.length);
    } catch (err) {
      if (err.status === 413 && size > 1) { size = Math.max(1, Math.floor(size / 2)); continue; }
      throw err;
    }
  }
  return rows;
}

/** Object URL of a depiction (fetched with the key, so it works where reads need one). */
const depictions = new Map();
export async function depictionURL(smiles, width, height, highlight = "none") {
  const q = new URLSearchParams({ smiles, width, height, highlight });
  const path = `/v1/depict?${q}`;
  if (!depictions.has(path)) {
    depictions.set(path, request(path).then((r) => r.blob()).then((b) => URL.createObjectURL(b)));
  }
  try {
    return await depictions.get(path);
  } catch (err) {
    depictions.delete(path);
    throw err;
  }
}
