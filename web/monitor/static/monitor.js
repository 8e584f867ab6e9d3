// Live partitions of a goka processor or view.
//
// The page holds <div id="monitor" data-kind="processor|view"
// data-source="…/data/…" data-interval="ms">. This script polls the source,
// turns each stats snapshot into table models (pure functions, tested under
// node) and draws them into #partitions and, for processors, #lookups. Rates
// are the difference of counters between two snapshots over the time between
// them; the server keeps no history.
//
// After every successful poll #monitor gets data-polls (how many so far) and
// data-partitions (how many rows are shown), and every row of
// #partitions tbody is a <tr data-partition="N"> whose cells carry data-col.
(function (root) {
  'use strict';

  var PARTITION_STATUS = ['stopped', 'initializing', 'connecting', 'recovering', 'preparing', 'running'];
  var RUN_MODE = ['active', 'passive', 'recover-only'];
  var ZERO_TIME = '0001-01-01T00:00:00Z';

  function statusName(n) {
    return PARTITION_STATUS[n] || 'status ' + n;
  }

  function runModeName(n) {
    return RUN_MODE[n] || 'mode ' + n;
  }

  // RateTracker remembers the last value of every counter and returns its
  // change per second. A first sample, or a counter that went down (a new
  // partition processor after a rebalance), has no rate yet: null.
  function RateTracker() {
    this.last = {};
  }

  RateTracker.prototype.rate = function (key, value, timeMs) {
    var prev = this.last[key];
    if (!prev || value < prev.value) {
      this.last[key] = { value: value, t: timeMs, rate: null };
      return null;
    }
    var dt = (timeMs - prev.t) / 1000;
    if (dt <= 0) {
      // The same snapshot again (the server's clock did not move): keep
      // the rate computed last time.
      return prev.rate;
    }
    var r = (value - prev.value) / dt;
    this.last[key] = { value: value, t: timeMs, rate: r };
    return r;
  };

  // keep drops the counters not seen in the latest snapshot, so that a
  // partition that comes back starts afresh.
  RateTracker.prototype.keep = function (seen) {
    for (var key in this.last) {
      if (Object.prototype.hasOwnProperty.call(this.last, key) && !seen[key]) {
        delete this.last[key];
      }
    }
  };

  function sortedKeys(obj) {
    return Object.keys(obj || {}).sort(function (a, b) {
      var x = Number(a), y = Number(b);
      if (!isNaN(x) && !isNaN(y)) { return x - y; }
      return a < b ? -1 : a > b ? 1 : 0;
    });
  }

  function timeOf(text, fallbackMs) {
    if (!text || text === ZERO_TIME) { return fallbackMs; }
    var t = Date.parse(text);
    return isNaN(t) ? fallbackMs : t;
  }

  function fmtInt(n) {
    if (n === null || n === undefined) { return '–'; }
    return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  // fmtOffset shows the -1 of "nothing read yet" as a dash.
  function fmtOffset(n) {
    if (n === null || n === undefined || n < 0) { return '–'; }
    return fmtInt(n);
  }

  function fmtRate(r) {
    if (r === null || r === undefined) { return '–'; }
    if (r === 0) { return '0'; }
    if (r < 10) { return r.toFixed(1); }
    return fmtInt(r);
  }

  function fmtBytes(n) {
    if (n === null || n === undefined) { return '–'; }
    var units = ['B', 'KiB', 'MiB', 'GiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(1)) + ' ' + units[i];
  }

  // fmtDuration formats Go's time.Duration, which JSON carries in nanoseconds.
  function fmtDuration(ns) {
    if (!ns) { return '–'; }
    var ms = ns / 1e6;
    if (ms < 1000) { return Math.round(ms) + ' ms'; }
    var s = ms / 1000;
    if (s < 120) { return s.toFixed(1) + ' s'; }
    var m = s / 60;
    if (m < 120) { return m.toFixed(1) + ' min'; }
    return (m / 60).toFixed(1) + ' h';
  }

  function cell(text, opts) {
    var c = { text: String(text) };
    if (opts) {
      for (var k in opts) {
        if (Object.prototype.hasOwnProperty.call(opts, k)) { c[k] = opts[k]; }
      }
    }
    return c;
  }

  function stateCell(ts) {
    if (!ts) { return cell('stateless', { cls: 'state' }); }
    var name = statusName(ts.Status);
    if (ts.Stalled) { return cell(name + ', stalled', { cls: 'state stalled' }); }
    return cell(name, { cls: 'state ' + name });
  }

  // recoveryText tells how far a table partition got restoring itself, or
  // how long it took.
  function recoveryText(ts) {
    var rec = ts && ts.Recovery;
    if (!rec) { return '–'; }
    var start = timeOf(rec.StartTime, null), done = timeOf(rec.RecoveryTime, null);
    if (done !== null && start !== null) {
      var ns = (done - start) * 1e6;
      return ns > 0 ? 'done in ' + fmtDuration(ns) : 'done';
    }
    if (rec.Hwm > 0) {
      var pct = Math.min(100, Math.max(0, (rec.Offset + 1) / rec.Hwm * 100));
      return fmtInt(rec.Offset + 1) + ' / ' + fmtInt(rec.Hwm) + ' (' + pct.toFixed(0) + '%)';
    }
    return '–';
  }

  var PROCESSOR_COLUMNS = [
    { key: 'partition', label: 'Partition', num: true },
    { key: 'state', label: 'Table state' },
    { key: 'mode', label: 'Mode' },
    { key: 'offset', label: 'Input offset', num: true },
    { key: 'lag', label: 'Lag', num: true },
    { key: 'consumed', label: 'Consumed', num: true },
    { key: 'consumeRate', label: 'msg/s in', num: true },
    { key: 'delay', label: 'Delay' },
    { key: 'produced', label: 'Produced', num: true },
    { key: 'produceRate', label: 'msg/s out', num: true },
    { key: 'tableOffset', label: 'Table offset', num: true },
    { key: 'recovery', label: 'Recovery' },
    { key: 'joined', label: 'Joined tables' }
  ];

  var TABLE_COLUMNS = [
    { key: 'partition', label: 'Partition', num: true },
    { key: 'state', label: 'State' },
    { key: 'offset', label: 'Offset', num: true },
    { key: 'lag', label: 'Lag', num: true },
    { key: 'messages', label: 'Messages', num: true },
    { key: 'rate', label: 'msg/s', num: true },
    { key: 'byteRate', label: 'bytes/s', num: true },
    { key: 'recovery', label: 'Recovery' }
  ];

  function sumRates(rates) {
    var total = null;
    for (var i = 0; i < rates.length; i++) {
      if (rates[i] !== null) { total = (total || 0) + rates[i]; }
    }
    return total;
  }

  // processorModel turns ProcessorStats into the rows of #partitions.
  function processorModel(stats, tracker, nowMs, seen) {
    var group = (stats && stats.Group) || {};
    var rows = [];
    var total = { lag: 0, consumed: 0, produced: 0, inRates: [], outRates: [] };
    sortedKeys(group).forEach(function (p) {
      var pp = group[p] || {};
      var t = timeOf(pp.Now, nowMs);
      var lag = 0, consumed = 0, delay = 0, inRates = [], offsets = [];
      var inputs = pp.Input || {};
      var topics = sortedKeys(inputs);
      topics.forEach(function (topic) {
        var in_ = inputs[topic] || {};
        var key = 'in/' + p + '/' + topic;
        seen[key] = true;
        lag += in_.OffsetLag || 0;
        consumed += in_.Count || 0;
        delay = Math.max(delay, in_.Delay || 0);
        inRates.push(tracker.rate(key, in_.Count || 0, t));
        offsets.push((topics.length > 1 ? topic + ': ' : '') + fmtOffset(in_.LastOffset));
      });
      var produced = 0, outRates = [];
      var outputs = pp.Output || {};
      sortedKeys(outputs).forEach(function (topic) {
        var key = 'out/' + p + '/' + topic;
        seen[key] = true;
        produced += outputs[topic].Count || 0;
        outRates.push(tracker.rate(key, outputs[topic].Count || 0, t));
      });
      var joined = sortedKeys(pp.Joined).map(function (topic) {
        var js = pp.Joined[topic] || {};
        var jlag = js.Input ? js.Input.OffsetLag : 0;
        return topic + ': ' + statusName(js.Status) + (js.Stalled ? ', stalled' : '') + (jlag ? ', lag ' + fmtInt(jlag) : '');
      });
      var ts = pp.TableStats;
      var inRate = sumRates(inRates), outRate = sumRates(outRates);
      total.lag += lag;
      total.consumed += consumed;
      total.produced += produced;
      total.inRates.push(inRate);
      total.outRates.push(outRate);
      rows.push({
        partition: Number(p),
        cells: {
          partition: cell(p),
          state: stateCell(ts),
          mode: cell(ts ? runModeName(ts.RunMode) : '–'),
          offset: cell(offsets.length ? offsets.join(', ') : '–', { title: topics.join(', ') }),
          lag: cell(fmtInt(lag), { cls: lag > 0 ? 'lagging' : '' }),
          consumed: cell(fmtInt(consumed)),
          consumeRate: cell(fmtRate(inRate)),
          delay: cell(fmtDuration(delay)),
          produced: cell(fmtInt(produced)),
          produceRate: cell(fmtRate(outRate)),
          tableOffset: cell(ts && ts.Input ? fmtOffset(ts.Input.LastOffset) : '–'),
          recovery: cell(ts ? recoveryText(ts) : '–'),
          joined: cell(joined.length ? joined.join('; ') : '–')
        }
      });
    });
    var totals = {
      partition: cell('total'),
      lag: cell(fmtInt(total.lag)),
      consumed: cell(fmtInt(total.consumed)),
      consumeRate: cell(fmtRate(sumRates(total.inRates))),
      produced: cell(fmtInt(total.produced)),
      produceRate: cell(fmtRate(sumRates(total.outRates)))
    };
    return { columns: PROCESSOR_COLUMNS, rows: rows, totals: totals };
  }

  // tableModel turns ViewStats (a view's, or a processor's lookup) into rows;
  // prefix keeps the counters of different tables apart.
  function tableModel(stats, tracker, nowMs, seen, prefix) {
    var parts = (stats && stats.Partitions) || {};
    var rows = [];
    var total = { lag: 0, messages: 0, rates: [], byteRates: [] };
    sortedKeys(parts).forEach(function (p) {
      var ts = parts[p] || {};
      var input = ts.Input || {};
      var key = prefix + '/' + p;
      seen[key + '/count'] = true;
      seen[key + '/bytes'] = true;
      var rate = tracker.rate(key + '/count', input.Count || 0, nowMs);
      var byteRate = tracker.rate(key + '/bytes', input.Bytes || 0, nowMs);
      total.lag += input.OffsetLag || 0;
      total.messages += input.Count || 0;
      total.rates.push(rate);
      total.byteRates.push(byteRate);
      rows.push({
        partition: Number(p),
        cells: {
          partition: cell(p),
          state: stateCell(ts),
          offset: cell(fmtOffset(input.LastOffset)),
          lag: cell(fmtInt(input.OffsetLag || 0), { cls: input.OffsetLag > 0 ? 'lagging' : '' }),
          messages: cell(fmtInt(input.Count || 0)),
          rate: cell(fmtRate(rate)),
          byteRate: cell(byteRate === null ? '–' : fmtBytes(byteRate)),
          recovery: cell(recoveryText(ts))
        }
      });
    });
    var byteRate = sumRates(total.byteRates);
    var totals = {
      partition: cell('total'),
      lag: cell(fmtInt(total.lag)),
      messages: cell(fmtInt(total.messages)),
      rate: cell(fmtRate(sumRates(total.rates))),
      byteRate: cell(byteRate === null ? '–' : fmtBytes(byteRate))
    };
    return { columns: TABLE_COLUMNS, rows: rows, totals: totals };
  }

  // ---- drawing (browser only) ----

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (Object.prototype.hasOwnProperty.call(attrs, k) && attrs[k] !== undefined && attrs[k] !== '') {
        e.setAttribute(k, attrs[k]);
      }
    }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function fillCell(td, c) {
    if (!c) { return; }
    if (c.cls && c.cls.indexOf('state') === 0) {
      td.appendChild(el('span', { 'class': c.cls }, c.text));
    } else {
      td.textContent = c.text;
      if (c.cls) { td.className += ' ' + c.cls; }
    }
    if (c.title) { td.title = c.title; }
  }

  function drawTable(table, model) {
    var thead = table.tHead || table.createTHead();
    var head = el('tr');
    model.columns.forEach(function (col) {
      head.appendChild(el('th', { 'class': col.num ? 'num' : '', scope: 'col' }, col.label));
    });
    thead.replaceChildren(head);

    var tbody = table.tBodies[0] || table.appendChild(el('tbody'));
    var rows = [];
    model.rows.forEach(function (row) {
      var tr = el('tr', { 'data-partition': String(row.partition) });
      model.columns.forEach(function (col) {
        var td = el('td', { 'class': col.num ? 'num' : '', 'data-col': col.key });
        fillCell(td, row.cells[col.key]);
        tr.appendChild(td);
      });
      rows.push(tr);
    });
    if (!rows.length) {
      var empty = el('tr');
      empty.appendChild(el('td', { 'class': 'empty', colspan: String(model.columns.length) }, 'no partition assigned'));
      rows.push(empty);
    }
    tbody.replaceChildren.apply(tbody, rows);

    var tfoot = table.tFoot || table.createTFoot();
    if (model.rows.length > 1) {
      var tr = el('tr', { 'class': 'total' });
      model.columns.forEach(function (col) {
        var th = el('th', { 'class': col.num ? 'num' : '', 'data-col': col.key });
        if (model.totals[col.key]) { th.textContent = model.totals[col.key].text; }
        tr.appendChild(th);
      });
      tfoot.replaceChildren(tr);
    } else {
      tfoot.replaceChildren();
    }
  }

  function drawLookups(section, lookups, tracker, nowMs, seen) {
    var names = sortedKeys(lookups);
    section.hidden = names.length === 0;
    var box = section.querySelector('#lookup-tables');
    var parts = [];
    names.forEach(function (name) {
      parts.push(el('h3', {}, name));
      var table = el('table', { 'class': 'stats lookup', 'data-table': name });
      drawTable(table, tableModel(lookups[name], tracker, nowMs, seen, 'lookup/' + name));
      parts.push(table);
    });
    box.replaceChildren.apply(box, parts);
  }

  function draw(rootEl, kind, stats, tracker, nowMs) {
    var seen = {};
    var model = kind === 'processor' ?
      processorModel(stats, tracker, nowMs, seen) :
      tableModel(stats, tracker, nowMs, seen, 'view');
    drawTable(rootEl.querySelector('#partitions'), model);
    var lookups = rootEl.querySelector('#lookups');
    if (kind === 'processor' && lookups) {
      drawLookups(lookups, (stats && stats.Lookup) || {}, tracker, nowMs, seen);
    }
    tracker.keep(seen);
    var count = rootEl.querySelector('#partition-count');
    if (count) { count.textContent = '(' + model.rows.length + ')'; }
    rootEl.setAttribute('data-partitions', String(model.rows.length));
  }

  function start(rootEl) {
    var source = rootEl.getAttribute('data-source');
    var kind = rootEl.getAttribute('data-kind');
    var interval = Number(rootEl.getAttribute('data-interval')) || 2000;
    var tracker = new RateTracker();
    var errBox = document.getElementById('poll-error');
    var updated = document.getElementById('updated');
    var polls = 0;

    function poll() {
      fetch(source, { cache: 'no-store', headers: { Accept: 'application/json' } })
        .then(function (res) {
          if (!res.ok) { throw new Error('HTTP ' + res.status + ' from ' + source); }
          // Rates are measured on the server's clock when it tells it: the
          // time the stats were taken, free of network delays.
          var taken = Number(res.headers.get('X-Stats-Time'));
          return res.json().then(function (stats) { return { stats: stats, taken: taken }; });
        })
        .then(function (got) {
          var now = Date.now();
          draw(rootEl, kind, got.stats, tracker, got.taken > 0 ? got.taken : now);
          polls++;
          rootEl.setAttribute('data-polls', String(polls));
          errBox.hidden = true;
          updated.textContent = 'updated ' + new Date(now).toLocaleTimeString();
        })
        .catch(function (err) {
          errBox.textContent = 'Polling the stats failed: ' + err.message;
          errBox.hidden = false;
        })
        .then(function () { setTimeout(poll, interval); });
    }
    poll();
  }

  var api = {
    statusName: statusName,
    runModeName: runModeName,
    RateTracker: RateTracker,
    processorModel: processorModel,
    tableModel: tableModel,
    recoveryText: recoveryText,
    fmtInt: fmtInt,
    fmtOffset: fmtOffset,
    fmtRate: fmtRate,
    fmtBytes: fmtBytes,
    fmtDuration: fmtDuration
  };

  if (typeof module !== 'undefined' && module.exports) {
    module.exports = api;
  } else {
    root.gokaMonitor = api;
    var rootEl = root.document && root.document.getElementById('monitor');
    if (rootEl) { start(rootEl); }
  }
})(this);
