// The browser miner's page: keeps the keys (localStorage), runs the miner in a Web Worker (/miner-worker.js) and
// shows what it does. `window.tessera` mirrors the state for automation (the end-to-end test reads it).
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY = 'tessera.browserMiner.mnemonic';
  const state = { isolated: self.crossOriginIsolated === true, status: 'idle', uid: null, hotkey: null, name: null, compute: null, threads: null, uploaded: [], applied: [], aggregated: [], errors: [], events: 0 };
  window.tessera = state;
  const rows = new Map();
  let worker = null;

  $('env').textContent = `${state.isolated ? 'cross-origin isolated' : 'NOT cross-origin isolated (no threads)'} · ${navigator.hardwareConcurrency} cores · WebGPU ${navigator.gpu ? 'available' : 'absent'}`;

  function log(line, cls) {
    const el = $('log');
    const div = document.createElement('div');
    if (cls) div.className = cls;
    div.textContent = `${new Date().toLocaleTimeString()} ${line}`;
    el.prepend(div);
    while (el.childNodes.length > 300) el.lastChild.remove();
  }

  function setStatus(s) {
    state.status = s;
    $('state').textContent = s;
    $('start').disabled = s === 'running' || s === 'starting';
    $('stop').disabled = !(s === 'running' || s === 'starting');
  }

  function row(window) {
    let r = rows.get(window);
    if (!r) {
      const tr = document.createElement('tr');
      tr.innerHTML = '<td></td><td></td><td></td><td></td><td></td><td></td>';
      tr.children[0].textContent = String(window);
      $('windows').prepend(tr);
      r = tr;
      rows.set(window, r);
    }
    return r.children;
  }

  function onEvent(ev) {
    state.events++;
    switch (ev.kind) {
      case 'registered':
        state.uid = ev.uid;
        $('uid').textContent = String(ev.uid);
        setStatus('running');
        log(`registered as uid ${ev.uid}`);
        break;
      case 'computeBackend':
        state.compute = ev.backend + (ev.adapter ? ` (${ev.adapter})` : '');
        $('compute').textContent = state.compute;
        break;
      case 'computeFallback':
        log(`compute: ${ev.requested} unavailable (${ev.reason}); using ${ev.using}`, 'bad');
        break;
      case 'uploaded': {
        state.uploaded.push(ev.window);
        const c = row(ev.window);
        c[1].textContent = ev.loss === null ? '–' : Number(ev.loss).toFixed(4);
        c[2].textContent = ev.innerSteps ?? '–';
        c[3].textContent = ev.nullRound ? 'null round' : `${(ev.bytes / 1024).toFixed(1)} KiB`;
        c[4].textContent = (ev.deadlineMarginMs / 1000).toFixed(1);
        log(`window ${ev.window}: uploaded ${ev.bytes} bytes (${ev.status})`);
        break;
      }
      case 'applied': {
        state.applied.push({ window: ev.window, hash: ev.hash, uids: ev.uids });
        const mine = state.uid !== null && ev.uids.includes(state.uid);
        if (mine) state.aggregated.push(ev.window);
        const c = row(ev.window);
        c[5].textContent = mine ? 'yes' : 'no';
        c[5].className = mine ? 'ok' : 'muted';
        break;
      }
      case 'missedDeadline':
      case 'behind':
      case 'skippedWindow':
        log(`${ev.kind}: ${JSON.stringify(ev)}`, 'bad');
        break;
      case 'stopped':
        log('miner stopped');
        break;
      default:
        break;
    }
  }

  // the wasm engine's threads: ?threads=N, else every core but one (the page and the browser need one)
  function threads() {
    const n = Number(new URLSearchParams(location.search).get('threads'));
    if (Number.isInteger(n) && n >= 1) return Math.min(n, 64);
    return state.isolated ? Math.max(1, (navigator.hardwareConcurrency || 2) - 1) : 1;
  }

  function start() {
    if (worker) return;
    setStatus('starting');
    worker = new Worker('/miner-worker.js', { type: 'module' });
    worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'keys') {
        localStorage.setItem(KEY, m.mnemonic);
        state.hotkey = m.hotkey;
        state.name = m.name;
        $('hotkey').textContent = m.hotkey;
        $('coldkey').textContent = m.coldkey;
        $('name').textContent = m.name;
        $('export').disabled = false;
      } else if (m.type === 'event') onEvent(m.event);
      else if (m.type === 'error') {
        state.errors.push(m.message);
        if (m.stack) console.error(m.stack);
        log(m.message, 'bad');
        if (m.fatal) setStatus('failed');
      } else if (m.type === 'exported') {
        const blob = new Blob([JSON.stringify({ coldkey: m.coldkey, hotkey: m.hotkey }, null, 2)], { type: 'application/json' });
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob);
        a.download = `tessera-${state.name}-keys.json`;
        a.click();
      } else if (m.type === 'stopped') {
        setStatus('stopped');
        worker.terminate();
        worker = null;
      }
    };
    worker.onerror = (e) => {
      state.errors.push(String(e.message));
      log(`worker: ${e.message}`, 'bad');
      setStatus('failed');
    };
    state.threads = threads();
    worker.postMessage({ type: 'start', mnemonic: localStorage.getItem(KEY) ?? undefined, compute: $('webgpu').checked ? 'webgpu' : 'wasm', threads: state.threads });
  }

  $('start').onclick = start;
  $('stop').onclick = () => worker?.postMessage({ type: 'stop' });
  $('export').onclick = () => worker?.postMessage({ type: 'export', password: $('password').value });
  $('import').onclick = () => {
    const phrase = prompt('BIP-39 mnemonic of the coldkey (the hotkey is mnemonic//hot):');
    if (phrase) {
      localStorage.setItem(KEY, phrase.trim());
      log('mnemonic saved; it is used from the next start');
    }
  };
  const params = new URLSearchParams(location.search);
  if (params.get('webgpu') === '1') $('webgpu').checked = true;
  if (params.get('autostart') === '1') start();
})();
