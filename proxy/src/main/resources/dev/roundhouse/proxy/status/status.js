'use strict';
// Polls /status and redraws. Text only goes in through textContent: URLs and reasons are data, never markup.
(() => {
  const DASH = '\u2013';
  const SVG = 'http://www.w3.org/2000/svg';
  const WORDS = {
    'in-rotation': 'in rotation',
    'out-of-rotation': 'out of rotation',
    ejected: 'ejected',
    'breaker-open': 'breaker open',
    'breaker-half-open': 'breaker half-open'
  };
  // Trouble first: what a person opens the page for. An unknown state counts as trouble.
  const RANK = { 'out-of-rotation': 0, ejected: 1, 'breaker-open': 2, 'breaker-half-open': 3, 'in-rotation': 4 };
  const $ = (id) => document.getElementById(id);
  const live = $('live');
  const filter = $('filter');
  let last = null;

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  const words = (s) => WORDS[s] || String(s == null ? DASH : s);
  const isNum = (v) => typeof v === 'number' && isFinite(v);
  const num = (v, d) => (isNum(v) ? v.toFixed(d) : DASH);
  const str = (v) => (v == null ? DASH : String(v));
  const clock = (d) => d.toTimeString().slice(0, 8); // HH:MM:SS, local
  const time = (iso) => (!iso ? DASH : isNaN(Date.parse(iso)) ? String(iso) : clock(new Date(iso)));
  const ago = (iso) => {
    const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (!(s >= 0)) return ''; // unparsable, or clocks apart
    const f = Math.floor;
    return ' (' + (s < 60 ? s + 's' : s < 3600 ? f(s / 60) + 'm' : s < 86400 ? f(s / 3600) + 'h ' + f((s % 3600) / 60) + 'm'
      : f(s / 86400) + 'd') + ' ago)';
  };
  const when = (iso) => (iso ? time(iso) + ago(iso) : DASH);
  // A cell of a first line and a muted second one.
  const cell = (cls, first, firstCls, second) => {
    const td = el('td', cls);
    td.append(el('div', firstCls, first));
    if (second) td.append(el('div', 'sub', second));
    return td;
  };

  const health = (h) => {
    if (!h) return cell('', DASH);
    const c = h.lastCheck;
    const counts = h.healthy
      ? 'fails ' + str(h.consecutiveFailures) + '/' + str(h.unhealthyThreshold)
      : 'passes ' + str(h.consecutiveSuccesses) + '/' + str(h.healthyThreshold);
    const check = c
      ? 'last check ' + (c.passed ? 'passed ' : 'failed ') + time(c.at) + ', ' + num(c.latencyMs, 1) + ' ms' +
        (c.reason ? ': ' + c.reason : '')
      : 'no check yet';
    const state = (h.healthy ? 'healthy' : 'unhealthy') + ' since ' + when(h.since);
    return cell('', state, h.healthy ? 'ok' : 'bad', counts + ' \u00b7 ' + check);
  };

  const breaker = (b) => {
    if (!b) return cell('', DASH);
    const rate = isNum(b.failureRate) ? b.failureRate.toFixed(1) + '%' : DASH;
    const cls = b.state === 'open' ? 'bad' : b.state === 'closed' ? '' : 'warn';
    return cell('', str(b.state), cls, 'failures ' + rate + ' \u00b7 since ' + when(b.since));
  };

  const spark = (rates) => {
    const svg = document.createElementNS(SVG, 'svg');
    const attrs = { class: 'spark', viewBox: '0 0 60 16', width: 60, height: 16, 'aria-hidden': 'true' };
    Object.keys(attrs).forEach((k) => svg.setAttribute(k, attrs[k]));
    if (!Array.isArray(rates) || rates.length < 2) return svg;
    const v = rates.map((r) => (isNum(r) && r > 0 ? r : 0));
    const max = Math.max.apply(null, v) || 1;
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', v.map((r, i) => ((i * 60) / (v.length - 1)).toFixed(1) + ',' +
      (15 - (r / max) * 14).toFixed(1)).join(' '));
    svg.append(line);
    return svg;
  };

  const row = (b) => {
    const state = String(b.state);
    const m = b.lastMinute || {};
    const cls = WORDS[state] ? state : 'unknown';
    const tr = el('tr', 't-' + cls);
    tr.setAttribute('data-url', String(b.url));
    tr.setAttribute('data-state', state);
    const url = el('th', 'url', str(b.url));
    url.scope = 'row';
    const st = el('td', 'state');
    st.append(el('span', 'badge s-' + cls, words(state)));
    const rps = el('td', 'n', num(m.requestsPerSecond, 1));
    rps.append(spark(m.rates));
    tr.append(url, st, health(b.health), breaker(b.breaker), el('td', 'n', str(b.inFlight)), rps,
      el('td', 'n', isNum(m.errorRatio) ? (m.errorRatio * 100).toFixed(1) + '%' : DASH),
      el('td', 'n', num(m.p50Ms, 1) + ' / ' + num(m.p99Ms, 1)));
    return tr;
  };

  const rank = (s) => (s in RANK ? RANK[s] : -1);
  const byTrouble = (a, b) => rank(a.state) - rank(b.state) || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0);
  const matches = (b, q) => [b.url, words(b.state), b.state].join('\n').toLowerCase().includes(q);

  // Rows go into a detached tbody that then replaces the old one: one insertion into the document per redraw.
  const fillBody = (table, rows, cols, empty) => {
    const body = document.createElement('tbody');
    rows.forEach((r) => body.append(r));
    if (!rows.length) {
      const td = body.insertRow().insertCell();
      td.className = 'empty';
      td.colSpan = cols;
      td.textContent = empty;
    }
    table.replaceChild(body, table.tBodies[0]);
  };

  const renderBackends = () => {
    const all = (last && last.backends) || [];
    const q = filter.value.trim().toLowerCase();
    const shown = all.filter((b) => !q || matches(b, q)).sort(byTrouble);
    const inRotation = all.filter((b) => b.inRotation === true).length;
    fillBody($('backends'), shown.map(row), 8, all.length ? 'no backend matches the filter' : 'no backends');
    $('summary').textContent = all.length + (all.length === 1 ? ' backend, ' : ' backends, ') + inRotation +
      ' in rotation' + (q ? ', ' + shown.length + ' shown' : '');
  };

  const renderPool = (pool) => {
    const p = $('pool');
    const rejected = $('rejected');
    const r = pool && pool.lastRejected;
    p.textContent = pool ? '' : 'no pool document yet';
    if (pool) {
      [['pool version', str(pool.version), 'b'], ['hash', pool.hash ? String(pool.hash).slice(0, 12) : DASH, 'code'],
        ['from', str(pool.source), 'b'], ['applied', when(pool.appliedAt), 'b']].forEach((item) => {
        const span = el('span', 'item', item[0] + ' ');
        span.append(el(item[2], '', item[1]));
        p.append(span);
      });
    }
    rejected.hidden = !r;
    rejected.textContent = r ? 'last document rejected ' + when(r.at) + ': ' + str(r.reason) + ' (the pool above was kept)' : '';
  };

  const renderChanges = (changes) => {
    const list = (changes || []).slice().sort((a, b) => (b.seq || 0) - (a.seq || 0));
    fillBody($('changes'), list.map((c) => {
      const tr = el('tr');
      const at = el('td', 'nowrap', time(c.at));
      at.title = str(c.at);
      tr.append(at, el('td', '', str(c.kind)), el('td', 'url', str(c.backend)),
        el('td', 'nowrap', words(c.from) + ' \u2192 ' + words(c.to)), el('td', '', str(c.reason)));
      return tr;
    }), 5, 'no changes since the proxy started');
  };

  const render = (doc) => {
    last = doc;
    renderPool(doc.pool);
    renderBackends();
    renderChanges(doc.changes);
    live.textContent = 'updated ' + clock(new Date());
    live.className = 'live ok';
    document.body.classList.remove('stale');
  };

  const unreachable = (why) => {
    live.textContent = 'proxy unreachable (' + why + ') at ' + clock(new Date());
    live.className = 'live bad';
    document.body.classList.add('stale'); // the rows stay, dimmed: the last known state
  };

  // The next poll is set once this one ended, so polls never pile up behind a slow proxy.
  const poll = () => {
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), 5000);
    fetch('/status', { cache: 'no-store', signal: abort.signal })
      .then((r) => {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(render, (e) => unreachable(e.name === 'AbortError' ? 'timed out' : e.message))
      .catch((e) => unreachable('bad answer: ' + e.message))
      .then(() => {
        clearTimeout(timeout);
        setTimeout(poll, 2000);
      });
  };

  filter.addEventListener('input', renderBackends);
  poll();
})();
