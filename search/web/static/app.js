// The curation page: plain JS, no build step. Every text from the server
// goes into the page through textContent or setAttribute, never innerHTML.
'use strict';

const $ = (sel) => document.querySelector(sel);
const S = {
  info: null,
  bucket: { pos: [], neg: [] }, // {key, id?, text?, image?, mimeType?, label}
  pool: { mode: 'browse', next: 0 },
  session: null,
  results: [],
  cursor: 0,
  marks: new Map(), // id -> true/false
  rounds: [],
  pending: Promise.resolve(),
  map: null,
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function status(msg, isError) {
  const s = $('#status');
  s.textContent = msg || '';
  s.className = isError ? 'error' : '';
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const data = r.status === 204 ? null : await r.json();
  if (!r.ok) throw new Error(data && data.error ? data.error : 'HTTP ' + r.status);
  return data;
}

function guard(fn) {
  return async (...args) => {
    try { await fn(...args); } catch (e) { status(e.message, true); }
  };
}

// card renders one item.
function card(it) {
  const d = el('div', 'card');
  d.dataset.id = it.id;
  if (S.info.thumbnails) {
    const img = el('img');
    img.alt = '';
    img.loading = 'lazy';
    img.src = 'api/thumbnail?id=' + encodeURIComponent(it.id);
    d.append(img);
  }
  d.append(el('div', 'label', it.label || ''), el('div', 'id', it.id));
  if (it.score !== undefined && it.score !== null) d.append(el('div', 'score', it.score.toFixed(3)));
  const f = it.fields || {};
  d.title = Object.keys(f).sort().map((k) => k + ': ' + f[k]).join('\n');
  return d;
}

// ---- bucket ----

function inBucket(id) {
  if (S.bucket.pos.some((e) => e.id === id)) return 'pos';
  if (S.bucket.neg.some((e) => e.id === id)) return 'neg';
  return '';
}

function addToBucket(it, role) {
  removeFromBucket(it.id);
  S.bucket[role].push({ key: it.id, id: it.id, label: it.label || '' });
  renderBucket();
}

function removeFromBucket(key) {
  S.bucket.pos = S.bucket.pos.filter((e) => e.key !== key);
  S.bucket.neg = S.bucket.neg.filter((e) => e.key !== key);
}

function renderBucket() {
  for (const role of ['pos', 'neg']) {
    const box = $('#bucket-' + role);
    box.replaceChildren();
    for (const e of S.bucket[role]) {
      const c = e.id ? card({ id: e.id, label: e.label }) : el('div', 'card', e.text ? '“' + e.text + '”' : 'uploaded image');
      c.dataset.key = e.key;
      c.addEventListener('click', () => { removeFromBucket(e.key); renderBucket(); });
      box.append(c);
    }
    $('#' + role + '-count').textContent = String(S.bucket[role].length);
  }
  for (const c of document.querySelectorAll('#pool .card')) c.dataset.bucket = inBucket(c.dataset.id);
}

function bucketBody() {
  const wire = (e) => (e.id ? { id: e.id } : e.text ? { text: e.text } : { image: e.image, mimeType: e.mimeType });
  return { positives: S.bucket.pos.map(wire), negatives: S.bucket.neg.map(wire) };
}

function kValue() {
  const k = parseInt($('#k').value, 10);
  return k > 0 ? k : 20;
}

// ---- pool (browse, search results, rare items) ----

function showPool(items, title, append) {
  const grid = $('#pool');
  if (!append) grid.replaceChildren();
  $('#pool-title').textContent = title;
  for (const it of items) {
    const c = card(it);
    c.dataset.bucket = inBucket(it.id);
    c.addEventListener('click', (ev) => addToBucket(it, ev.shiftKey ? 'neg' : 'pos'));
    c.addEventListener('contextmenu', (ev) => { ev.preventDefault(); addToBucket(it, 'neg'); });
    grid.append(c);
  }
}

async function browse(append) {
  const offset = append ? S.pool.next : 0;
  const r = await api('GET', 'api/items?offset=' + offset + '&limit=60');
  S.pool = { mode: 'browse', next: r.next };
  showPool(r.items, 'Browse', append);
  $('#more').hidden = r.next === null;
}

async function rare() {
  status('Finding rare items…');
  const r = await api('GET', 'api/look/rare?top=40');
  S.pool = { mode: 'rare', next: null };
  showPool(r.results, 'Rare items (farthest from their neighbours)', false);
  $('#more').hidden = true;
  status('');
}

async function runSearch() {
  const body = bucketBody();
  body.topK = kValue() * 3;
  const r = await api('POST', 'api/search', body);
  S.pool = { mode: 'search', next: null };
  showPool(r.results, 'Search results', false);
  $('#more').hidden = true;
  status(r.results.length + ' results');
}

// ---- feedback ----

async function startSession() {
  const s = await api('POST', 'api/sessions', bucketBody());
  S.session = s.id;
  S.marks = new Map();
  S.rounds = [];
  history.replaceState(null, '', '#session=' + s.id);
  for (const id of ['#next-round', '#mark-rest', '#suggest']) $(id).disabled = false;
  for (const [id, fmt] of [['#export-csv', 'csv'], ['#export-jsonl', 'jsonl']]) {
    $(id).href = 'api/sessions/' + s.id + '/export?format=' + fmt;
    $(id).classList.remove('disabled');
  }
  showView('feedback');
  await nextRound();
}

async function resumeSession(id) {
  const s = await api('GET', 'api/sessions/' + id);
  S.session = s.id;
  S.marks = new Map(s.marks.map((m) => [m.id, m.relevant]));
  S.rounds = s.rounds;
  for (const b of ['#next-round', '#mark-rest', '#suggest']) $(b).disabled = false;
  for (const [b, fmt] of [['#export-csv', 'csv'], ['#export-jsonl', 'jsonl']]) {
    $(b).href = 'api/sessions/' + s.id + '/export?format=' + fmt;
    $(b).classList.remove('disabled');
  }
  renderRounds();
  const last = s.rounds[s.rounds.length - 1];
  if (last) {
    S.results = last.ids.map((id) => ({ id }));
    $('#round-title').textContent = 'Round ' + last.index + ' (resumed)';
    renderGrid();
  }
}

async function nextRound() {
  await S.pending;
  const r = await api('POST', 'api/sessions/' + S.session + '/results', { k: kValue() });
  S.results = r.results;
  S.cursor = 0;
  S.rounds = S.rounds.filter((x) => x.index !== r.round.index).concat([r.round]);
  $('#round-title').textContent = 'Round ' + r.round.index + ' · ' + r.round.strategy + ' · ' + r.results.length + ' items';
  $('#round-title').dataset.round = String(r.round.index);
  renderGrid();
  renderRounds();
  $('#grid').focus();
}

async function suggest() {
  await S.pending;
  const r = await api('GET', 'api/sessions/' + S.session + '/suggest?n=' + kValue());
  S.results = r.results;
  S.cursor = 0;
  $('#round-title').textContent = 'Suggestions: the items the model is least sure about';
  renderGrid();
}

function renderGrid() {
  const grid = $('#grid');
  grid.replaceChildren();
  S.results.forEach((it, i) => {
    const c = card(it);
    if (S.marks.has(it.id)) c.dataset.mark = S.marks.get(it.id) ? 'relevant' : 'not-relevant';
    c.addEventListener('click', () => { S.cursor = i; moveCursor(0); });
    grid.append(c);
  });
  moveCursor(0);
}

function moveCursor(delta) {
  const cards = document.querySelectorAll('#grid .card');
  if (!cards.length) return;
  S.cursor = Math.max(0, Math.min(cards.length - 1, S.cursor + delta));
  cards.forEach((c, i) => c.classList.toggle('cursor', i === S.cursor));
  cards[S.cursor].scrollIntoView({ block: 'nearest' });
}

// sendMarks records marks on the page at once and sends them in order.
function sendMarks(marks, rest) {
  for (const m of marks) S.marks.set(m.id, m.relevant);
  const body = { marks };
  if (rest) body.rest = rest;
  S.pending = S.pending.then(async () => {
    const r = await api('POST', 'api/sessions/' + S.session + '/marks', body);
    S.rounds = r.rounds;
    renderRounds();
  }).catch((e) => status(e.message, true));
  return S.pending;
}

function markCursor(relevant) {
  const it = S.results[S.cursor];
  if (!it) return;
  const c = document.querySelectorAll('#grid .card')[S.cursor];
  c.dataset.mark = relevant ? 'relevant' : 'not-relevant';
  sendMarks([{ id: it.id, relevant }]);
  moveCursor(1);
}

function markRest() {
  const round = S.rounds[S.rounds.length - 1];
  if (!round) return;
  for (const id of round.ids) {
    if (!S.marks.has(id)) S.marks.set(id, false);
  }
  for (const c of document.querySelectorAll('#grid .card')) {
    if (!c.dataset.mark) c.dataset.mark = 'not-relevant';
  }
  sendMarks([], { round: round.index, relevant: false });
}

function renderRounds() {
  const tbody = $('#rounds tbody');
  tbody.replaceChildren();
  for (const r of S.rounds) {
    const tr = el('tr');
    tr.dataset.round = String(r.index);
    const p = r.precision === null || r.precision === undefined ? '–' : (r.precision * 100).toFixed(0) + '%';
    for (const [cls, v] of [['index', r.index], ['strategy', r.strategy], ['shown', r.shown], ['marked', r.marked], ['relevant', r.relevant], ['precision', p]]) {
      tr.append(el('td', cls, String(v)));
    }
    tbody.append(tr);
  }
  renderChart();
}

// renderChart draws precision per round as a line with one dot per round.
function renderChart() {
  const svg = $('#chart');
  svg.replaceChildren();
  const ns = 'http://www.w3.org/2000/svg';
  const mk = (tag, attrs) => {
    const e = document.createElementNS(ns, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  };
  const W = 320, H = 140, L = 30, B = 20, T = 10;
  svg.append(mk('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }), mk('line', { class: 'axis', x1: L, y1: H - B, x2: W - 5, y2: H - B }));
  for (const v of [0, 0.5, 1]) {
    const t = mk('text', { x: 2, y: H - B - v * (H - B - T) + 3 });
    t.textContent = v * 100 + '%';
    svg.append(t);
  }
  const n = Math.max(S.rounds.length, 2);
  const x = (i) => L + 10 + i * ((W - L - 25) / (n - 1));
  const y = (p) => H - B - p * (H - B - T);
  const pts = [];
  for (const r of S.rounds) {
    const lab = mk('text', { x: x(r.index) - 3, y: H - 5 });
    lab.textContent = String(r.index);
    svg.append(lab);
    if (r.precision === null || r.precision === undefined) continue;
    pts.push(x(r.index) + ',' + y(r.precision));
    const dot = mk('circle', { cx: x(r.index), cy: y(r.precision), r: 4, 'data-round': r.index, 'data-precision': r.precision });
    const tip = mk('title', {});
    tip.textContent = 'round ' + r.index + ': ' + (r.precision * 100).toFixed(0) + '%';
    dot.append(tip);
    svg.append(dot);
  }
  if (pts.length > 1) svg.insertBefore(mk('polyline', { class: 'line', points: pts.join(' ') }), svg.firstChild);
}

// ---- map ----

const palette = ['#4c6ef5', '#f76707', '#2f9e44', '#e03131', '#7048e8', '#1098ad', '#d6336c', '#74b816', '#f59f00', '#495057'];

async function loadMap() {
  status('Drawing the map…');
  const q = 'api/look/map?method=' + $('#map-method').value + (S.session ? '&session=' + S.session : '');
  S.map = await api('GET', q);
  drawMap();
  status(S.map.points.length + ' of ' + S.map.total + ' items');
}

function drawMap() {
  const svg = $('#scatter');
  svg.replaceChildren();
  const ns = 'http://www.w3.org/2000/svg';
  const pts = S.map.points;
  if (!pts.length) return;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const p of pts) { x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y); }
  const sx = (v) => 20 + ((v - x0) / (x1 - x0 || 1)) * 960;
  const sy = (v) => 680 - ((v - y0) / (y1 - y0 || 1)) * 660;
  const by = $('#color-by').value;
  const labels = [...new Set(pts.map((p) => p.label || ''))].sort();
  const scores = pts.map((p) => p.score).filter((s) => s !== undefined && s !== null);
  const lo = Math.min(...scores), hi = Math.max(...scores);
  const colour = (p) => {
    if (by === 'score') {
      if (p.score === undefined || p.score === null) return '#ced4da';
      const t = (p.score - lo) / (hi - lo || 1);
      return 'rgb(' + Math.round(40 + 200 * t) + ',' + Math.round(90 + 40 * (1 - Math.abs(2 * t - 1))) + ',' + Math.round(230 - 200 * t) + ')';
    }
    return palette[labels.indexOf(p.label || '') % palette.length];
  };
  for (const p of pts) {
    const c = document.createElementNS(ns, 'circle');
    c.setAttribute('cx', sx(p.x).toFixed(1));
    c.setAttribute('cy', sy(p.y).toFixed(1));
    c.setAttribute('r', pts.length > 2000 ? 3 : 5);
    c.setAttribute('fill', colour(p));
    c.setAttribute('data-id', p.id);
    if (p.mark) c.setAttribute('data-mark', p.mark);
    const tip = document.createElementNS(ns, 'title');
    tip.textContent = p.id + ' · ' + (p.label || '') + (p.score !== undefined ? ' · score ' + p.score.toFixed(3) : '');
    c.append(tip);
    c.addEventListener('click', () => openItem(p.id));
    svg.append(c);
  }
  const legend = $('#legend');
  legend.replaceChildren();
  if (by === 'label') {
    labels.forEach((l, i) => {
      const li = el('li');
      const sw = el('span', 'swatch');
      sw.style.background = palette[i % palette.length];
      li.append(sw, el('span', '', l || '(none)'));
      legend.append(li);
    });
  } else {
    legend.append(el('li', '', scores.length ? 'blue: unlike the marks · red: like them' : 'no marks yet: start a feedback session'));
  }
}

// Box selection on the map: drag on the background to add points to the
// bucket as positives.
function setupBoxSelect() {
  const svg = $('#scatter');
  let start = null, box = null;
  const at = (ev) => {
    const pt = svg.createSVGPoint();
    pt.x = ev.clientX; pt.y = ev.clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  };
  svg.addEventListener('mousedown', (ev) => {
    if (ev.target.tagName === 'circle') return;
    start = at(ev);
    box = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    box.setAttribute('class', 'box');
    svg.append(box);
  });
  svg.addEventListener('mousemove', (ev) => {
    if (!start) return;
    const p = at(ev);
    box.setAttribute('x', Math.min(p.x, start.x)); box.setAttribute('y', Math.min(p.y, start.y));
    box.setAttribute('width', Math.abs(p.x - start.x)); box.setAttribute('height', Math.abs(p.y - start.y));
  });
  window.addEventListener('mouseup', (ev) => {
    if (!start) return;
    const p = at(ev);
    const [xa, xb, ya, yb] = [Math.min(p.x, start.x), Math.max(p.x, start.x), Math.min(p.y, start.y), Math.max(p.y, start.y)];
    start = null;
    box.remove();
    if (xb - xa < 4 && yb - ya < 4) return;
    let n = 0;
    for (const c of svg.querySelectorAll('circle')) {
      const cx = +c.getAttribute('cx'), cy = +c.getAttribute('cy');
      if (cx >= xa && cx <= xb && cy >= ya && cy <= yb && !inBucket(c.dataset.id)) {
        const pt = S.map.points.find((q) => q.id === c.dataset.id);
        S.bucket.pos.push({ key: pt.id, id: pt.id, label: pt.label || '' });
        n++;
      }
    }
    renderBucket();
    status('Added ' + n + ' items to the bucket');
  });
}

// ---- item detail ----

async function openItem(id) {
  const it = await api('GET', 'api/item?id=' + encodeURIComponent(id));
  $('#detail').hidden = false;
  $('#detail').dataset.id = it.id;
  $('#detail-id').textContent = it.id;
  const img = $('#detail-img');
  img.hidden = !S.info.thumbnails;
  if (S.info.thumbnails) img.src = 'api/thumbnail?id=' + encodeURIComponent(it.id);
  const dl = $('#detail-fields');
  dl.replaceChildren();
  const f = it.fields || {};
  for (const k of Object.keys(f).sort()) dl.append(el('dt', '', k), el('dd', '', f[k]));
  $('#detail-add').onclick = () => { addToBucket(it, 'pos'); status('Added ' + it.id + ' to the bucket'); };
}

// ---- views and keys ----

function showView(name) {
  for (const v of ['bucket', 'feedback', 'map']) {
    $('#view-' + v).hidden = v !== name;
    $('#tab-' + v).classList.toggle('active', v === name);
  }
  document.body.dataset.view = name;
  if (name === 'map') guard(loadMap)();
}

function onKey(ev) {
  if (document.body.dataset.view !== 'feedback' || !S.session) return;
  if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
  const k = ev.key;
  if (k === 'j' || k === 'ArrowRight' || k === 'ArrowDown') moveCursor(1);
  else if (k === 'k' || k === 'ArrowLeft' || k === 'ArrowUp') moveCursor(-1);
  else if (k === 'y') markCursor(true);
  else if (k === 'n') markCursor(false);
  else if (k === 'a') markRest();
  else if (k === 'Enter') guard(nextRound)();
  else if (k === 'o' && S.results[S.cursor]) guard(openItem)(S.results[S.cursor].id);
  else return;
  ev.preventDefault();
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(',')[1]);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

async function init() {
  S.info = await api('GET', 'api/info');
  document.title = S.info.title;
  $('#title').textContent = S.info.title;
  $('#info').textContent = S.info.namespace + (S.info.count !== undefined ? ' · ' + S.info.count + ' items' : '') + ' · ' + S.info.metric;
  $('#query-inputs').hidden = !S.info.encoder;
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => showView(b.dataset.view));
  $('#search').addEventListener('click', guard(runSearch));
  $('#start').addEventListener('click', guard(startSession));
  $('#clear-bucket').addEventListener('click', () => { S.bucket = { pos: [], neg: [] }; renderBucket(); });
  $('#show-browse').addEventListener('click', guard(() => browse(false)));
  $('#show-rare').addEventListener('click', guard(rare));
  $('#more').addEventListener('click', guard(() => browse(true)));
  $('#next-round').addEventListener('click', guard(nextRound));
  $('#mark-rest').addEventListener('click', markRest);
  $('#suggest').addEventListener('click', guard(suggest));
  $('#map-method').addEventListener('change', guard(loadMap));
  $('#color-by').addEventListener('change', () => S.map && drawMap());
  $('#detail-close').addEventListener('click', () => { $('#detail').hidden = true; });
  $('#text-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('#text-query').value.trim();
    if (!t) return;
    S.bucket.pos.push({ key: 'text:' + t, text: t });
    $('#text-query').value = '';
    renderBucket();
  });
  $('#image-upload').addEventListener('change', guard(async (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    if (f.size > S.info.maxUpload) throw new Error('image larger than ' + S.info.maxUpload + ' bytes');
    S.bucket.pos.push({ key: 'image:' + f.name + ':' + Date.now(), image: await readFile(f), mimeType: f.type });
    renderBucket();
  }));
  document.addEventListener('keydown', onKey);
  setupBoxSelect();
  showView('bucket');
  await browse(false);
  const m = /session=([0-9a-f]{32})/.exec(location.hash);
  if (m) await resumeSession(m[1]);
  document.body.dataset.ready = '1';
}

guard(init)();
