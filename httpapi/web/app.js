// Parklot dashboard: renders the snapshots /dashboard/events streams.
// Plain DOM, no framework; every value from the server goes in as text.
'use strict';

(function () {
  const byId = (id) => document.getElementById(id);
  let linkPrefix = '';

  // el builds an element; attrs set attributes (data-*, href, class...),
  // children are nodes or strings.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null && v !== false) node.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // taskLink opens a task's workflow in the Temporal UI when one is known.
  function taskLink(id) {
    if (!linkPrefix) return el('span', { class: 'task', 'data-task': id }, id);
    return el('a', {
      class: 'task', 'data-task': id, target: '_blank', rel: 'noopener noreferrer',
      href: linkPrefix + encodeURIComponent('task/' + id), title: 'open in the Temporal UI',
    }, id);
  }

  function ticketLink(id) {
    if (!linkPrefix) return el('span', { class: 'ticket' }, id);
    return el('a', {
      class: 'ticket', 'data-ticket': id, target: '_blank', rel: 'noopener noreferrer',
      href: linkPrefix + encodeURIComponent('ticket/' + id), title: 'open in the Temporal UI',
    }, id);
  }

  function seconds(s) {
    if (s === null || s === undefined) return '—';
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 120) return s.toFixed(1) + ' s';
    return (s / 60).toFixed(1) + ' min';
  }

  function ago(t) {
    const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
    if (s < 60) return Math.round(s) + 's ago';
    if (s < 3600) return Math.round(s / 60) + 'm ago';
    return Math.round(s / 3600) + 'h ago';
  }

  function clock(t) {
    return new Date(t).toLocaleTimeString([], { hour12: false });
  }

  function stat(label, value, key) {
    return el('div', { class: 'stat' }, el('b', { 'data-stat': key }, value), el('span', {}, label));
  }

  function taskList(items, render, empty) {
    if (!items || items.length === 0) return el('p', { class: 'muted' }, empty);
    return el('ul', { class: 'tasks' }, ...items.map((it) => el('li', {}, ...render(it))));
  }

  function poolCard(p, admitted) {
    const pct = p.maxUnits > 0 ? Math.min(100, (100 * p.activeUnits) / p.maxUnits) : 100;
    const level = pct >= 90 ? 'full' : pct >= 70 ? 'high' : 'ok';
    const fill = el('div', { class: 'fill' });
    fill.style.width = pct + '%';
    const bar = el('div', {
      class: 'bar', role: 'meter', 'data-level': level, 'aria-label': 'capacity of ' + p.pool,
      'aria-valuemin': 0, 'aria-valuemax': p.maxUnits, 'aria-valuenow': p.activeUnits,
    }, fill, el('span', { class: 'label', 'data-capacity': '' }, p.activeUnits + ' / ' + p.maxUnits + ' units'));

    const c = p.counters || {};
    const rejected = Object.entries(c.rejected || {}).sort((a, b) => b[1] - a[1]);
    const rejections = rejected.length === 0
      ? el('p', { class: 'muted' }, 'none')
      : el('div', { class: 'chips' }, ...rejected.map(([reason, n]) => el('span', { class: 'chip', 'data-reason': reason }, reason + ' ' + n)));

    return el('article', { class: 'pool', 'data-pool': p.pool },
      el('header', {}, el('h3', {}, p.pool), el('span', { class: 'badge', 'data-state': p.state }, p.state)),
      bar,
      el('div', { class: 'stats' },
        stat('queued', p.queueLength + ' / ' + p.maxQueueDepth, 'queue'),
        stat('p95 wait', seconds(p.waitP95Seconds), 'p95'),
        stat('admitted', (c.admitted || 0) + (c.granted || 0), 'admitted'),
        stat('expired', c.expired || 0, 'expired')),
      el('h4', {}, 'Rejections by reason'), rejections,
      el('h4', {}, 'Running'),
      taskList(p.holders, (h) => [taskLink(h.taskId), el('span', { class: 'grow muted' }, h.tenant), el('span', {}, h.units + 'u')], 'nothing running'),
      el('h4', {}, 'Queue'),
      taskList(p.queue, (q) => [el('span', { class: 'muted' }, '#' + q.position), taskLink(q.taskId), el('span', { class: 'grow muted' }, q.tenant + ' · ' + q.priority), el('span', {}, q.units + 'u')], 'empty'),
      el('h4', {}, 'Recent admissions'),
      taskList(admitted, (a) => [taskLink(a.taskId), el('span', { class: 'grow muted' }, a.tenant || ''), el('span', { class: 'muted' }, ago(a.at))], 'none yet'));
  }

  function money(amount, currency) {
    try {
      const f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
      return f.format(amount / 10 ** f.resolvedOptions().maximumFractionDigits);
    } catch (e) {
      return amount + ' ' + (currency || '');
    }
  }

  const spotStates = [['occupied', 'occupied'], ['reserved', 'reserved'], ['outOfService', 'out of service'], ['free', 'free']];

  // stack draws one bar split by spot state.
  function stack(c, label) {
    const bar = el('div', { class: 'stack', role: 'img', 'aria-label': label + ': ' + spotStates.map(([k, n]) => c[k] + ' ' + n).join(', ') });
    for (const [key] of spotStates) {
      if (!c[key]) continue;
      const seg = el('span', { class: 'seg', 'data-state': key, title: c[key] + ' ' + key });
      seg.style.width = (100 * c[key]) / Math.max(1, c.total) + '%';
      bar.append(seg);
    }
    return bar;
  }

  function lotCard(l) {
    const rev = l.revenueToday;
    const title = l.temporalUrl
      ? el('a', { href: l.temporalUrl, target: '_blank', rel: 'noopener noreferrer', title: 'open in the Temporal UI' }, l.lot)
      : l.lot;
    return el('article', { class: 'pool lot', 'data-lot': l.lot },
      el('header', {}, el('h3', {}, title), el('span', { class: 'badge' }, l.strategy.replace('_', ' '))),
      stack(l.spots, 'occupancy of ' + l.lot),
      el('div', { class: 'stats' },
        stat('occupancy', Math.round(l.occupancyPerMille / 10) + ' %', 'occupancy'),
        stat('vehicles', l.vehicles, 'vehicles'),
        stat('free spots', l.spots.free + ' / ' + l.spots.total, 'free'),
        stat('revenue today', rev ? money(rev.amount, rev.currency) + (rev.partial ? '+' : '') : '—', 'revenue')),
      el('h4', {}, 'Occupancy by level'),
      el('ul', { class: 'levels' }, ...l.levels.map((lv) => el('li', { 'data-level': lv.level },
        el('span', { class: 'lvl' }, lv.name || 'level ' + lv.level),
        stack(lv, 'level ' + (lv.name || lv.level)),
        el('span', { class: 'muted' }, lv.occupied + lv.reserved + lv.outOfService + ' / ' + lv.total)))),
      el('h4', {}, 'Map'),
      el('div', { class: 'map' }, ...(l.rows || []).map((r) => {
        const lvl = l.levels.find((lv) => lv.level === r.level);
        const label = (lvl && lvl.name ? lvl.name : 'L' + r.level) + ' ' + r.row;
        return el('div', { class: 'maprow', 'data-row': label },
          el('span', { class: 'lvl' }, label),
          el('span', { class: 'spots' }, ...r.states.map((st, i) =>
            el('i', { class: 'spot', 'data-state': st, title: label + ' #' + i + ': ' + st }))));
      })),
      el('div', { class: 'legend' }, ...spotStates.map(([k, n]) => el('span', {}, el('i', { 'data-state': k }), n))));
  }

  function subjects(list) {
    return el('span', {}, ...(list || []).map((s) => {
      if (s.kind === 'task') return el('span', { class: 'subject' }, 'task:', taskLink(s.id));
      if (s.kind === 'ticket') return el('span', { class: 'subject' }, 'ticket:', ticketLink(s.id));
      return el('span', { class: 'subject' }, s.kind + ':' + s.id);
    }));
  }

  function feedRow(e) {
    const data = e.data === undefined || e.data === null ? '' : JSON.stringify(e.data);
    return el('tr', { 'data-event': e.eventId },
      el('td', { class: 'muted' }, clock(e.at)),
      el('td', { class: 'type' }, e.type),
      el('td', {}, subjects(e.subjects)),
      el('td', { class: 'data', title: data }, data));
  }

  function render(snap) {
    linkPrefix = snap.workflowUrlPrefix || '';
    const pools = snap.pools || [];
    byId('pools').replaceChildren(...(pools.length ? pools.map((p) => poolCard(p, (snap.admissions || {})[p.pool])) : [el('p', { class: 'muted' }, 'No pool is running.')]));
    const lots = snap.lots || [];
    byId('lots-section').hidden = lots.length === 0;
    byId('lots').replaceChildren(...lots.map(lotCard));
    const events = snap.events || [];
    byId('feed').replaceChildren(...(events.length ? events.map(feedRow)
      : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'No events yet.'))]));
    const errors = byId('errors');
    errors.hidden = !(snap.errors && snap.errors.length);
    errors.replaceChildren(...(snap.errors || []).map((m) => el('div', {}, m)));
    byId('updated').textContent = 'updated ' + clock(snap.at);
    document.body.dataset.snapshotAt = snap.at;
  }

  function setConn(state, text) {
    const c = byId('conn');
    c.dataset.state = state;
    c.textContent = text;
  }

  // EventSource reconnects by itself after an error; the page only says so.
  const source = new EventSource('dashboard/events');
  source.addEventListener('snapshot', (e) => {
    render(JSON.parse(e.data));
    setConn('live', 'live');
  });
  source.addEventListener('error', () => setConn('reconnecting', 'reconnecting…'));
})();
