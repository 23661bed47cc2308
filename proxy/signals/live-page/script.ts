/** The live page's script (live.js): polls /connections and /metrics and draws them; plain browser JS, no library. Kept free of backquotes and dollar-braces so it can sit in this template. */
export const LIVE_SCRIPT = String.raw`'use strict';
// sluice's live page: polls connections and metrics once a second (relative URLs, so it also
// works behind a path prefix) and draws what they say. No state is ever changed. The /healthz
// state is read from sluice_healthy (1 while /healthz answers 200): asking /healthz itself
// would put an error in the console for every 503.
(function () {
  const REFRESH_MS = 1000;
  const HIDDEN_REFRESH_MS = 5000; // a tab in the background costs the proxy less
  const HISTORY_POINTS = 300; // five minutes at one point a second
  const ROW_LIMIT = 100;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const $ = (selector) => document.querySelector(selector);
  const history = { t: [], up: [], down: [], buffered: [], memory: [], pressure: [], active: [], queued: [] };
  let previous = null; // the counters at the last refresh, for rates
  let refreshes = 0;

  // Prometheus text format: name{labels} value, one sample a line.
  function parseMetrics(text) {
    const families = new Map();
    for (const line of text.split('\n')) {
      if (line === '' || line[0] === '#') continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
      if (!m) continue;
      const labels = {};
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let l = re.exec(m[2] || ''); l; l = re.exec(m[2] || '')) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      if (!families.has(m[1])) families.set(m[1], []);
      families.get(m[1]).push({ labels: labels, value: Number(m[3]) });
    }
    return families;
  }

  // Under sluice serve each family has a sample per proxy: counts add up, but the process is as
  // pressed as its worst proxy and healthy only while every one is.
  const COMBINE = {
    sluice_pressure: Math.max,
    sluice_pressure_component: Math.max,
    sluice_event_loop_delay_seconds: Math.max,
    sluice_healthy: Math.min,
    sluice_accepting: Math.min,
  };
  const add = (a, b) => a + b;

  // A family's samples whose labels include 'match', combined (added up unless COMBINE says); null when there are none.
  function metric(families, name, match) {
    const samples = families.get(name);
    if (!samples) return null;
    const combine = COMBINE[name] || add;
    let value = null;
    for (const s of samples) {
      if (match && Object.keys(match).some((k) => s.labels[k] !== match[k])) continue;
      value = value === null ? s.value : combine(value, s.value);
    }
    return value;
  }

  function formatBytes(n) {
    if (n === null || n === undefined) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n >= 100 ? 0 : 1)) + ' ' + units[i];
  }

  function formatMs(ms) {
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' m ' + Math.floor((ms % 60000) / 1000) + ' s';
    return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' m';
  }

  const FORMATS = {
    bytes: formatBytes,
    rate: (n) => (n === null ? '–' : formatBytes(n) + '/s'),
    count: (n) => (n === null ? '–' : String(Math.round(n))),
    ratio: (n) => (n === null ? '–' : n.toFixed(2)),
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A bar for 'value' out of 'max': full (and red) at or past the max.
  function bar(value, max) {
    const outer = el('div', 'bar');
    outer.appendChild(el('div', 'fill'));
    return updateBar(outer, value, max);
  }

  // Sets a bar made by bar() to 'value' out of 'max', touching only what changed.
  function updateBar(outer, value, max) {
    const fraction = max > 0 ? Math.min(1, value / max) : value > 0 ? 1 : 0;
    outer.classList.toggle('full', fraction >= 1);
    const width = (fraction * 100).toFixed(1) + '%';
    if (outer.firstChild.style.width !== width) outer.firstChild.style.width = width;
    const fill = fraction.toFixed(2);
    if (outer.dataset.fill !== fill) outer.dataset.fill = fill;
    const title = formatBytes(value) + ' of ' + formatBytes(max);
    if (outer.title !== title) outer.title = title;
    return outer;
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  // Every element with data-metric shows that family's value (data-labels narrows it, as JSON).
  function renderFigures(families) {
    for (const node of document.querySelectorAll('[data-metric]')) {
      const labels = node.dataset.labels ? JSON.parse(node.dataset.labels) : null;
      const value = metric(families, node.dataset.metric, labels);
      node.dataset.value = value === null ? '' : String(value);
      node.textContent = (FORMATS[node.dataset.format] || FORMATS.count)(value);
      node.title = value === null ? 'not served here (it depends on the mode: messages, spill, adaptive concurrency)' : '';
      node.closest('.figure')?.classList.toggle('absent', value === null);
    }
  }

  function renderRates(families, now) {
    const counters = {
      t: now,
      up: metric(families, 'sluice_bytes_total', { direction: 'client_to_target' }),
      down: metric(families, 'sluice_bytes_total', { direction: 'target_to_client' }),
      dropped: metric(families, 'sluice_messages_dropped_total'),
    };
    const rate = (key) => {
      if (!previous || previous[key] === null || counters[key] === null || now <= previous.t) return null;
      return Math.max(0, ((counters[key] - previous[key]) * 1000) / (now - previous.t));
    };
    const rates = { up: rate('up'), down: rate('down'), dropped: rate('dropped') };
    previous = counters;
    $('#rate-up').textContent = FORMATS.rate(rates.up);
    $('#rate-down').textContent = FORMATS.rate(rates.down);
    $('#rate-dropped').textContent = rates.dropped === null ? '' : rates.dropped.toFixed(0) + '/s';
    return rates;
  }

  function renderPressure(families) {
    const list = $('#pressure-components');
    list.replaceChildren();
    const components = new Set((families.get('sluice_pressure_component') || []).map((s) => s.labels.component));
    for (const component of components) {
      const value = metric(families, 'sluice_pressure_component', { component: component });
      const item = el('li');
      item.appendChild(el('span', 'name', component));
      item.appendChild(bar(value, 1));
      item.appendChild(el('span', 'num', value.toFixed(2)));
      list.appendChild(item);
    }
    const pressure = metric(families, 'sluice_pressure');
    $('#pressure-bar').replaceChildren(bar(pressure || 0, 1));
  }

  // Without a governor (the tunnel sidecars) /healthz always answers 200.
  function renderHealth(families) {
    const healthy = metric(families, 'sluice_healthy');
    const status = healthy === null || healthy >= 1 ? 200 : 503;
    const node = $('#health');
    node.textContent = status === 200 ? 'healthy · /healthz 200' : 'shedding load · /healthz 503';
    node.className = 'health ' + (status === 200 ? 'ok' : 'bad');
    node.dataset.status = String(status);
  }

  function record(families, rates, now) {
    const push = (key, value) => {
      history[key].push(value);
      if (history[key].length > HISTORY_POINTS) history[key].shift();
    };
    push('t', now);
    push('up', rates.up);
    push('down', rates.down);
    push('buffered', metric(families, 'sluice_bytes_buffered'));
    push('memory', metric(families, 'sluice_memory_used_bytes'));
    push('pressure', metric(families, 'sluice_pressure'));
    push('active', metric(families, 'sluice_connections_active'));
    push('queued', metric(families, 'sluice_connections_queued'));
  }

  // A line chart of the last minutes (the history so far, a minute at least, five at most): one
  // polyline per series, the top of the scale and the span written.
  function chart(svg, keys, format, fixedMax) {
    const width = 300;
    const height = 80;
    const t = history.t;
    svg.replaceChildren();
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('preserveAspectRatio', 'none');
    let max = fixedMax || 0;
    for (const key of keys) for (const v of history[key]) if (v !== null && v > max) max = v;
    if (max <= 0) max = 1;
    const end = t.length ? t[t.length - 1] : 0;
    const span = Math.max(60000, t.length ? end - t[0] : 0);
    keys.forEach((key, i) => {
      const points = [];
      history[key].forEach((v, j) => {
        if (v === null) return;
        const x = width - ((end - t[j]) / span) * width;
        const y = height - 2 - (v / max) * (height - 4);
        points.push(x.toFixed(1) + ',' + y.toFixed(1));
      });
      const line = document.createElementNS(SVG_NS, 'polyline');
      line.setAttribute('points', points.join(' '));
      line.setAttribute('class', 'series s' + i);
      svg.appendChild(line);
    });
    svg.parentElement.querySelector('.max').textContent = format(max);
    svg.parentElement.querySelector('.span').textContent = 'last ' + formatMs(span).replace(/ 0 s$/, '');
  }

  // A direction's cell: its bar, buffered / window and bytes relayed; empty while there is none.
  function updateDirectionCell(cell, direction) {
    cell.classList.toggle('held', Boolean(direction && direction.held));
    if (!direction) {
      if (cell.firstChild) cell.replaceChildren();
      return;
    }
    if (!cell.firstChild) cell.append(bar(0, 0), el('span', 'num'), el('span', 'total'));
    const [outer, buffered, relayed] = cell.children;
    updateBar(outer, direction.bufferedBytes, direction.windowBytes);
    setText(buffered, formatBytes(direction.bufferedBytes) + ' / ' + formatBytes(direction.windowBytes));
    setText(relayed, formatBytes(direction.bytes));
  }

  function heldText(view) {
    const parts = [];
    for (const [name, direction] of [['→', view.clientToTarget], ['←', view.targetToClient]]) {
      if (!direction) continue;
      if (direction.held) parts.push(name + ' held ' + formatMs(direction.heldForMs) + ' (' + direction.holdReasons.join(', ') + ')');
    }
    const total = (view.clientToTarget ? view.clientToTarget.heldBackMs : 0) + (view.targetToClient ? view.targetToClient.heldBackMs : 0);
    if (total > 0) parts.push('total ' + formatMs(total));
    return parts.join(' · ');
  }

  function messagesText(m) {
    if (!m) return '';
    const parts = ['fwd ' + m.forwarded, 'dropped ' + m.dropped, 'queued ' + m.queuedMessages];
    if (m.spilledMessages > 0 || m.spilledBytes > 0) parts.push('spilled ' + m.spilledMessages + ' (' + formatBytes(m.spilledBytes) + ')');
    return parts.join(' · ');
  }

  function streamText(s) {
    if (!s) return '';
    return '#' + s.id + ' (' + s.side + ') send ' + formatBytes(s.sendWindowBytes) + ' · recv ' + formatBytes(s.recvBufferedBytes) + ' / ' + formatBytes(s.recvWindowBytes);
  }

  // Rows are kept per connection and updated in place: building a hundred rows afresh every
  // refresh cost the browser about 0.1 s of CPU each time (new nodes styled, laid out, painted).
  let rowsByKey = new Map();

  function newRow() {
    const cells = {
      id: el('td', 'num'),
      proxy: el('td', 'proxy'),
      client: el('td', 'client'),
      target: el('td', 'target'),
      phase: el('td', 'phase'),
      age: el('td', 'num'),
      up: el('td', 'dir'),
      down: el('td', 'dir'),
      held: el('td', 'held-text'),
      messages: el('td', 'messages'),
      stream: el('td', 'stream'),
    };
    const row = el('tr');
    row.append(...Object.values(cells));
    return { row, cells };
  }

  function updateRow({ row, cells }, view) {
    const id = String(view.id);
    if (row.dataset.id !== id) row.dataset.id = id;
    if (row.dataset.client !== view.client) row.dataset.client = view.client;
    row.classList.toggle('held', Boolean(view.held));
    setText(cells.id, id);
    setText(cells.proxy, view.proxy || '');
    setText(cells.client, view.client);
    setText(cells.target, view.target);
    setText(cells.phase, view.phase);
    setText(cells.age, formatMs(view.ageMs));
    updateDirectionCell(cells.up, view.clientToTarget);
    updateDirectionCell(cells.down, view.targetToClient);
    setText(cells.held, heldText(view));
    setText(cells.messages, messagesText(view.messages));
    setText(cells.stream, streamText(view.stream));
  }

  function renderConnections(page) {
    const body = $('#connections tbody');
    // Steady rows: by proxy, worker and id (ids are per proxy and per worker), not by how busy.
    const views = page.connections.slice().sort((a, b) => (a.proxy || '').localeCompare(b.proxy || '') || (a.worker || 0) - (b.worker || 0) || a.id - b.id);
    const anyProxy = views.some((v) => v.proxy !== undefined);
    const anyMessages = views.some((v) => v.messages);
    const anyStream = views.some((v) => v.stream);
    const kept = new Map();
    const rows = [];
    for (const view of views) {
      const key = (view.proxy || '') + ' ' + (view.worker || 0) + ' ' + view.id;
      const entry = rowsByKey.get(key) || newRow();
      updateRow(entry, view);
      kept.set(key, entry);
      rows.push(entry.row);
    }
    rowsByKey = kept;
    // The body is rebuilt only when connections came, went or moved.
    const shown = body.children;
    let same = shown.length === rows.length;
    for (let i = 0; same && i < rows.length; i++) same = shown[i] === rows[i];
    if (!same) body.replaceChildren(...rows);
    const table = $('#connections');
    table.classList.toggle('has-proxy', anyProxy);
    table.classList.toggle('has-messages', anyMessages);
    table.classList.toggle('has-stream', anyStream);
    const held = page.connections.filter((v) => v.held).length;
    $('#connections-shown').textContent =
      page.total > page.connections.length ? page.connections.length + ' of ' + page.total + ' (busiest first)' : String(page.total);
    $('#connections-held').textContent = held > 0 ? held + ' held back' : '';
    $('#connections-empty').hidden = page.total > 0;
  }

  async function fetchText(path) {
    const res = await fetch(path, { cache: 'no-store' });
    return { status: res.status, text: await res.text() };
  }

  async function refresh() {
    const started = Date.now();
    try {
      const [metrics, connections] = await Promise.all([fetchText('metrics'), fetchText('connections?limit=' + ROW_LIMIT)]);
      const now = Date.now();
      const families = parseMetrics(metrics.text);
      renderFigures(families);
      const rates = renderRates(families, now);
      renderPressure(families);
      renderHealth(families);
      if (connections.status === 200) renderConnections(JSON.parse(connections.text));
      record(families, rates, now);
      chart($('#chart-rate svg'), ['up', 'down'], FORMATS.rate);
      chart($('#chart-buffered svg'), ['buffered', 'memory'], formatBytes);
      chart($('#chart-pressure svg'), ['pressure'], FORMATS.ratio, 1);
      chart($('#chart-connections svg'), ['active', 'queued'], FORMATS.count);
      $('#updated').textContent = 'updated ' + new Date(now).toLocaleTimeString();
      document.body.classList.remove('unreachable');
    } catch (err) {
      $('#updated').textContent = 'cannot reach sluice: ' + (err && err.message ? err.message : String(err));
      document.body.classList.add('unreachable');
    }
    refreshes++;
    document.body.dataset.refreshes = String(refreshes);
    const every = document.hidden ? HIDDEN_REFRESH_MS : REFRESH_MS;
    setTimeout(refresh, Math.max(0, every - (Date.now() - started)));
  }

  refresh();
})();
`;
