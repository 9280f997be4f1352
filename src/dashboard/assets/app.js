// Tessera dashboard: renders the run snapshot pushed by /api/events (Server-Sent Events) with uPlot charts.
(() => {
  'use strict';
  const $ = (sel) => document.querySelector(sel);
  const PALETTE = ['#58a6ff', '#3fb950', '#d29922', '#f85149', '#bc8cff', '#39c5cf', '#ff7b72', '#e3b341', '#a5d6ff', '#7ee787'];
  const charts = new Map();

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const fmt = (x, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(digits));
  const pct = (x) => (x === null || x === undefined ? '–' : (100 * x).toFixed(1) + '%');
  const bytes = (n) => {
    if (n === null || n === undefined) return '–';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
  };
  const time = (t) => (t ? new Date(t).toLocaleTimeString() : '–');
  const minerLabel = (m) => (m ? `${m.name ?? 'uid ' + m.uid}${m.adversary ? ' (' + m.adversary + ')' : ''}` : '');

  /**
   * Creates or updates a uPlot chart; recreated when its series change. `y`: 'log' for a log-scaled axis, 'unit' for
   * one that always shows [0, 1] (accuracies), default automatic.
   */
  function plot(id, seriesNames, data, yLabel, y = 'auto') {
    const el = document.getElementById(id);
    el.dataset.points = String(data.length > 1 ? data.slice(1).reduce((s, ys) => s + ys.filter((y) => y !== null).length, 0) : 0);
    const key = seriesNames.join('|');
    const width = Math.max(300, el.clientWidth || 500);
    let entry = charts.get(id);
    if (entry && entry.key !== key) {
      entry.chart.destroy();
      entry = undefined;
    }
    if (!entry) {
      const opts = {
        width,
        height: 240,
        scales: {
          x: { time: false },
          ...(y === 'log' ? { y: { distr: 3 } } : y === 'unit' ? { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, max ?? 1)] } } : {}),
        },
        axes: [
          { label: 'window', stroke: '#8b93a1', grid: { stroke: '#252a33' }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] },
          { label: yLabel, stroke: '#8b93a1', grid: { stroke: '#252a33' }, size: 60 },
        ],
        series: [{ label: 'window' }, ...seriesNames.map((name, i) => ({ label: name, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true, points: { size: 4 } }))],
      };
      entry = { key, chart: new uPlot(opts, data, el) };
      charts.set(id, entry);
    } else {
      entry.chart.setData(data);
    }
  }

  /** Columns for uPlot: x = sorted windows, one y array per series (null where missing). */
  function columns(windows, series) {
    return [windows, ...series.map((get) => windows.map((w) => { const v = get(w); return v === undefined ? null : v; }))];
  }

  /** Per-miner series up to this many miners; beyond, charts show the top miners by score or the spread over all. */
  const MAX_SERIES = 12;

  /** Per window: min, median and max of the values present (null where none). */
  function spread(windows, valuesAt) {
    const stats = windows.map((w) => {
      const xs = valuesAt(w).filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
      return xs.length === 0 ? null : [xs[0], xs[Math.floor(xs.length / 2)], xs[xs.length - 1]];
    });
    return [windows, ...[0, 1, 2].map((i) => stats.map((st) => (st === null ? null : st[i])))];
  }

  function renderCharts(s) {
    const lw = s.loss.map((p) => p.window);
    const byW = new Map(s.loss.map((p) => [p.window, p]));
    plot('loss-chart', ['held-out loss', 'inner loss (miners)'], columns(lw, [(w) => byW.get(w).heldOutLoss, (w) => byW.get(w).innerLoss]), 'loss');

    const many = s.miners.length > MAX_SERIES;
    const miners = many ? [...s.miners].sort((a, b) => (b.score ?? -1) - (a.score ?? -1) || a.uid - b.uid).slice(0, 10) : s.miners;
    $('#score-note').textContent = many ? `top ${miners.length} of ${s.miners.length} miners by score` : '';
    const sw = s.scores.map((p) => p.window);
    const scoreByW = new Map(s.scores.map((p) => [p.window, p.scores]));
    plot('score-chart', miners.map(minerLabel), columns(sw, miners.map((m) => (w) => scoreByW.get(w)[m.uid] ?? 0)), 'score');

    const uw = [...new Set(s.uploads.map((u) => u.window))].sort((a, b) => a - b);
    if (many) {
      const byWindow = new Map(uw.map((w) => [w, []]));
      for (const u of s.uploads) byWindow.get(u.window).push(u);
      const names = ['min', 'median', 'max'];
      plot('margin-chart', names, spread(uw, (w) => byWindow.get(w).map((u) => u.deadlineMarginMs)), 'ms');
      plot('upload-chart', names, spread(uw, (w) => byWindow.get(w).map((u) => u.uploadMs)), 'ms');
      $('#margin-note').textContent = $('#upload-note').textContent = `over ${s.miners.length} miners`;
      return;
    }
    $('#margin-note').textContent = $('#upload-note').textContent = '';
    const up = new Map(s.uploads.map((u) => [`${u.window}/${u.uid}`, u]));
    plot('margin-chart', miners.map(minerLabel), columns(uw, miners.map((m) => (w) => up.get(`${w}/${m.uid}`)?.deadlineMarginMs ?? null)), 'ms');
    plot('upload-chart', miners.map(minerLabel), columns(uw, miners.map((m) => (w) => up.get(`${w}/${m.uid}`)?.uploadMs ?? null)), 'ms');
  }

  function renderSummary(s) {
    const last = s.windows.at(-1);
    const lastLoss = [...s.loss].reverse().find((p) => p.heldOutLoss !== null);
    const leader = s.nodes.find((n) => n.role === 'validator' && n.leader) ?? s.nodes.find((n) => n.role === 'validator');
    const cards = [
      ['window', last ? last.window : '–'],
      ['global step', leader?.globalStep ?? '–'],
      ['held-out loss', lastLoss ? fmt(lastLoss.heldOutLoss, 4) : '–'],
      ['miners', s.miners.length],
      ['flags', s.flags.length],
      ['bytes sent', bytes(s.totals.bytesSent)],
      ['bytes received', bytes(s.totals.bytesReceived)],
      ['comm overhead', pct(s.totals.commOverhead)],
      ['chain block', s.chain.block ?? '–'],
    ];
    $('#summary').innerHTML = cards.map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join('');
  }

  /** The miners table's own state: sort column and direction, filter, page; kept across snapshots. */
  const table = { key: 'uid', dir: 1, filter: '', page: 0, pageSize: 50 };

  const sortValue = (m, key) => (key === 'lastFlagWindow' ? (m.lastFlag ? m.lastFlag.window : null) : key === 'name' ? minerLabel(m) : m[key]);

  function compareMiners(a, b) {
    const x = sortValue(a, table.key);
    const y = sortValue(b, table.key);
    // missing values sort last in either direction
    if (x === null || x === undefined) return y === null || y === undefined ? a.uid - b.uid : 1;
    if (y === null || y === undefined) return -1;
    const c = typeof x === 'string' ? x.localeCompare(y, undefined, { numeric: true }) : x - y;
    return c !== 0 ? table.dir * c : a.uid - b.uid;
  }

  function renderMiners(s) {
    const q = table.filter.trim().toLowerCase();
    const shown = (q === '' ? s.miners : s.miners.filter((m) => `${m.uid} ${minerLabel(m)} ${m.lastGathered ?? ''} ${m.lastFlag ? m.lastFlag.reason : ''}`.toLowerCase().includes(q))).sort(compareMiners);
    const size = table.pageSize > 0 ? table.pageSize : Math.max(1, shown.length);
    const pages = Math.max(1, Math.ceil(shown.length / size));
    table.page = Math.min(table.page, pages - 1);
    const rows = shown.slice(table.page * size, (table.page + 1) * size);
    $('#miners-count').textContent = `${s.miners.length} miners${q === '' ? '' : `, ${shown.length} match`}`;
    $('#miners-page').textContent = shown.length === 0 ? 'no rows' : `rows ${table.page * size + 1}–${table.page * size + rows.length} of ${shown.length} · page ${table.page + 1} of ${pages}`;
    $('#miners-prev').disabled = table.page === 0;
    $('#miners-next').disabled = table.page >= pages - 1;
    const el = $('#miners');
    el.dataset.rows = String(rows.length);
    el.dataset.total = String(shown.length);
    el.dataset.page = String(table.page);
    el.dataset.pages = String(pages);
    for (const th of el.querySelectorAll('th[data-key]')) th.className = `${th.classList.contains('l') ? 'l ' : ''}sortable${th.dataset.key === table.key ? (table.dir > 0 ? ' asc' : ' desc') : ''}`;
    $('#miners tbody').innerHTML = rows.map((m) => {
      const cls = [m.flags > 0 ? 'flagged' : '', m.adversary ? 'adversary' : ''].join(' ');
      const lf = m.lastFlag ? `<span class="reason">${esc(m.lastFlag.reason)}</span> (w${m.lastFlag.window})` : '';
      return `<tr class="${cls}" data-uid="${m.uid}" data-name="${esc(m.name ?? '')}">
        <td>${m.uid}</td><td class="l">${esc(minerLabel(m))}</td><td>${esc(m.lastGathered ?? '–')}</td>
        <td>${fmt(m.score, 4)}</td><td>${fmt(m.mu, 2)}</td><td>${fmt(m.sigma, 2)}</td><td>${fmt(m.ordinal, 2)}</td>
        <td>${fmt(m.weight, 3)}</td><td>${fmt(m.incentive, 3)}</td><td>${fmt(m.emission, 4)}</td>
        <td>${m.uploads}</td><td>${fmt(m.lastUploadMs, 0)}</td><td>${fmt(m.lastDeadlineMarginMs, 0)}</td>
        <td>${bytes(m.bytesSent)}</td><td>${bytes(m.bytesReceived)}</td><td>${pct(m.commOverhead)}</td>
        <td>${m.flags}</td><td class="l flag-reason">${lf}</td></tr>`;
    }).join('');
  }

  let last = null;
  const rerenderMiners = () => { if (last !== null) renderMiners(last); };
  for (const th of document.querySelectorAll('#miners th[data-key]')) {
    th.addEventListener('click', () => {
      const key = th.dataset.key;
      // numbers read best largest first; names and uids from the start
      table.dir = table.key === key ? -table.dir : key === 'uid' || key === 'name' ? 1 : -1;
      table.key = key;
      table.page = 0;
      rerenderMiners();
    });
  }
  $('#miners-prev').addEventListener('click', () => { table.page = Math.max(0, table.page - 1); rerenderMiners(); });
  $('#miners-next').addEventListener('click', () => { table.page++; rerenderMiners(); });
  $('#miners-page-size').addEventListener('change', (e) => { table.pageSize = Number(e.target.value); table.page = 0; rerenderMiners(); });
  $('#miners-filter').addEventListener('input', (e) => { table.filter = e.target.value; table.page = 0; rerenderMiners(); });
  table.pageSize = Number($('#miners-page-size').value);

  function renderFlags(s) {
    const byUid = new Map(s.miners.map((m) => [m.uid, m]));
    $('#flags tbody').innerHTML = s.flags.slice(-60).reverse().map((f) => `<tr data-uid="${f.uid}">
      <td>${f.window}</td><td>${esc(minerLabel(byUid.get(f.uid)) || f.name || 'uid ' + f.uid)}</td><td>${esc(f.kind)}</td>
      <td class="reason">${esc(f.reason)}</td><td>${esc(f.validator)}</td></tr>`).join('');
  }

  /** Up to this many miners every gather status is a chip; beyond, the counts and chips for the aggregated and the rest not ok. */
  const MAX_CHIPS = 64;

  function renderTimeline(s) {
    const many = s.miners.length > MAX_CHIPS;
    $('#timeline tbody').innerHTML = s.windows.slice(-30).reverse().map((w) => {
      const entries = Object.entries(w.gathered);
      const chip = ([uid, st]) => {
        const extra = (w.aggregated.includes(Number(uid)) ? ' agg' : '') + (w.copiers.includes(Number(uid)) ? ' copier' : '');
        return `<span class="chip ${esc(st)}${extra}" title="uid ${uid}: ${esc(st)}">${uid}</span>`;
      };
      let cell;
      if (many) {
        const counts = {};
        for (const [, st] of entries) counts[st] = (counts[st] ?? 0) + 1;
        const shown = entries.filter(([uid, st]) => st !== 'ok' || w.aggregated.includes(Number(uid)) || w.copiers.includes(Number(uid)));
        cell = `<span class="counts">${Object.entries(counts).map(([st, n]) => `${esc(st)} ${n}`).join(' · ')}</span> ${shown.map(chip).join('')}`;
      } else {
        cell = entries.map(chip).join('');
      }
      return `<tr><td>${w.window}${w.warmup ? ' (warm-up)' : ''}</td><td>${time(w.t)}</td><td>${fmt(w.heldOutLoss, 4)}</td>
        <td class="l">${cell}</td><td>${w.flags}</td><td>${w.weightsSet ? 'set' : ''}</td><td>${w.applied ? '✓' : '✗'}</td><td>${fmt(w.ms, 0)}</td></tr>`;
    }).join('');
  }

  function renderNodes(s) {
    $('#nodes-count').textContent = `${s.nodes.length} nodes`;
    $('#nodes tbody').innerHTML = s.nodes.map((n) => `<tr><td>${esc(n.name)}${n.adversary ? ' (' + esc(n.adversary) + ')' : ''}</td>
      <td>${esc(n.role ?? '?')}${n.leader ? ' (leader)' : ''}</td><td>${n.uid ?? '–'}</td><td>${esc(n.state)}</td>
      <td>${esc(n.lastKind ?? '–')} ${time(n.lastSeen)}</td><td>${n.globalStep ?? '–'}</td><td>${n.lastApplied ?? '–'}</td><td>${n.events}</td>
      <td>${n.metricsUrl ? `<a href="${esc(n.metricsUrl)}" target="_blank">/metrics</a>` : '–'}</td></tr>`).join('');
  }

  /** Pipeline-group miners (net up --hetero): one row per stage, the group's figures on its first row; hidden without groups. */
  function renderGroups(s) {
    const groups = s.groups ?? [];
    $('#groups-section').hidden = groups.length === 0;
    $('#groups-count').textContent = `${groups.length} group${groups.length === 1 ? '' : 's'}`;
    $('#groups tbody').innerHTML = groups.map((g) => g.stages.map((st, i) => {
      const head = i === 0
        ? `<td rowspan="${g.stages.length}" class="l">${esc(g.name)}</td><td rowspan="${g.stages.length}">${g.uid ?? '–'}</td>
           <td rowspan="${g.stages.length}">${g.rank ?? 'none'}</td><td rowspan="${g.stages.length}">${g.uploaded} / ${g.missed}</td>
           <td rowspan="${g.stages.length}" class="l">${esc(g.lastOutcome ?? '–')}${g.lastWindow === null ? '' : ' (w' + g.lastWindow + ')'}${g.lastReason ? ` <span class="reason">${esc(g.lastReason)}</span>` : ''}</td>
           <td rowspan="${g.stages.length}">${bytes(g.lastPayloadBytes)}</td><td rowspan="${g.stages.length}">${bytes(g.activationBytes)}</td>`
        : '';
      const layers = st.firstLayer === null ? '–' : `${st.firstLayer}–${st.endLayer - 1}`;
      return `<tr data-group="${esc(g.name)}" data-stage="${st.stage}">${head}<td>${st.stage}</td><td class="l">${esc(st.node ?? '–')}</td>
        <td>${esc(st.state ?? '–')}${st.starts > 1 ? ` (${st.starts - 1} restart${st.starts > 2 ? 's' : ''})` : ''}</td><td>${esc(st.link ?? '–')}</td>
        <td>${layers}</td><td>${st.params ?? '–'}</td><td>${st.lastApplied ?? '–'}</td><td>${fmt(st.trainMs, 0)}</td>
        <td>${bytes(st.forwardBytes)}</td><td>${bytes(st.backwardBytes)}</td><td>${bytes(st.partBytes)}</td><td>${fmt(st.deltaNorm, 3)}</td><td>${fmt(st.projectionNorm, 3)}</td></tr>`;
    }).join('')).join('');
  }

  /** The page's own timing: load (navigation start → load event), first snapshot rendered, last render and its size. */
  const timing = { loadMs: null, firstRenderMs: null, renderMs: null, snapshotBytes: null };

  function showTiming() {
    const parts = [];
    if (timing.loadMs !== null) parts.push(`page loaded in ${Math.round(timing.loadMs)} ms`);
    if (timing.firstRenderMs !== null) parts.push(`first data shown after ${Math.round(timing.firstRenderMs)} ms`);
    if (timing.renderMs !== null) parts.push(`last render ${Math.round(timing.renderMs)} ms (${bytes(timing.snapshotBytes)} snapshot)`);
    $('#load-time').textContent = parts.length === 0 ? 'page loading…' : parts.join(' · ');
    for (const [k, v] of Object.entries(timing)) if (v !== null) document.body.dataset[k] = String(Math.round(v));
  }

  window.addEventListener('load', () => {
    // loadEventEnd is set once the load handlers have run
    setTimeout(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      timing.loadMs = nav && nav.loadEventEnd > 0 ? nav.loadEventEnd - nav.startTime : performance.now();
      showTiming();
    }, 0);
  });

  function render(s, size) {
    const t0 = performance.now();
    last = s;
    $('#run').textContent = s.runDir;
    renderSummary(s);
    renderCharts(s);
    renderMiners(s);
    renderFlags(s);
    renderTimeline(s);
    renderNodes(s);
    renderGroups(s);
    const chain = s.chain.error ? `chain: ${s.chain.error}` : s.chain.at ? `chain read ${time(s.chain.at)}` : 'chain: not read';
    $('#footer').textContent = `updated ${time(s.generatedAt)} · ${chain} · skipped lines: ${s.skipped.malformed} malformed, ${s.skipped.oversized} oversized, ${s.skipped.unknownKind} of unknown kind`;
    document.body.dataset.seq = String(s.seq);
    const done = performance.now();
    timing.renderMs = done - t0;
    timing.snapshotBytes = size;
    if (timing.firstRenderMs === null) timing.firstRenderMs = done;
    showTiming();
  }

  /** The evaluator's quality over windows (/api/eval): headline metrics per task, perplexity on its own chart. */
  function renderEval(q) {
    const windows = q.points.map((p) => p.window);
    const byW = new Map(q.points.map((p) => [p.window, p.scores]));
    const series = (tasks) => tasks.map((t) => (w) => byW.get(w)[t.task]);
    const scored = q.tasks.filter((t) => t.kind !== 'perplexity');
    const ppl = q.tasks.filter((t) => t.kind === 'perplexity');
    plot('quality-chart', scored.map((t) => `${t.task} (${t.primary})`), columns(windows, series(scored)), 'score', 'unit');
    plot('ppl-chart', ppl.map((t) => t.task), columns(windows, series(ppl)), 'perplexity', 'log');
    const note = $('#eval-note');
    if (q.evaluated === 0 && q.refused === 0) {
      note.textContent = 'no evaluations yet (run: tessera evaluator --run-dir <this run>)';
      note.className = 'note';
      return;
    }
    const newest = q.latest ? ` · newest: window ${q.latest.window} (${q.latest.model})` : '';
    const refused = q.refusals[0] ? ` · last refused: window ${q.refusals[0].window}, ${q.refusals[0].error.code}` : '';
    note.textContent = `${q.evaluated} checkpoints evaluated, ${q.refused} refused${newest}${refused}`;
    note.className = q.refused > 0 ? 'note bad' : 'note';
    note.title = q.refusals.map((r) => `window ${r.window} ${r.node ?? r.bucket}: ${r.error.name} ${r.error.code}: ${r.error.message}`).join('\n');
  }

  let evalText = '';
  async function refreshEval() {
    try {
      const res = await fetch('/api/eval', { cache: 'no-store' });
      if (!res.ok) return;
      const text = await res.text();
      if (text === evalText) return;
      evalText = text;
      renderEval(JSON.parse(text));
    } catch (err) {
      console.error('evaluation history failed', err);
    }
  }

  function connect() {
    const es = new EventSource('/api/events');
    es.addEventListener('open', () => { $('#conn').textContent = 'live'; $('#conn').className = 'conn on'; });
    es.addEventListener('error', () => { $('#conn').textContent = 'disconnected (retrying)'; $('#conn').className = 'conn off'; });
    es.addEventListener('snapshot', (e) => {
      try { render(JSON.parse(e.data), e.data.length); } catch (err) { console.error('render failed', err); }
    });
  }

  window.addEventListener('resize', () => {
    for (const [id, { chart }] of charts) chart.setSize({ width: Math.max(300, document.getElementById(id).clientWidth), height: 240 });
  });
  connect();
  refreshEval();
  setInterval(refreshEval, 5000);
})();
