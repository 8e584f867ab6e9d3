// Tests of the pure parts of static/monitor.js, run by script_test.go under
// node. Each check throws on failure; the last line tells how many passed.
'use strict';
const assert = require('node:assert/strict');
const m = require('../static/monitor.js');

let passed = 0;
let failed = 0;
function test(name, fn) {
  try {
    fn();
    passed++;
  } catch (err) {
    console.error('FAIL ' + name + ': ' + err.message);
    failed++;
    process.exitCode = 1;
  }
}

test('status and run mode names', () => {
  assert.equal(m.statusName(0), 'stopped');
  assert.equal(m.statusName(3), 'recovering');
  assert.equal(m.statusName(5), 'running');
  assert.equal(m.statusName(9), 'status 9');
  assert.equal(m.runModeName(1), 'passive');
  assert.equal(m.runModeName(2), 'recover-only');
});

test('rate tracker', () => {
  const rt = new m.RateTracker();
  assert.equal(rt.rate('a', 10, 1000), null, 'first sample has no rate');
  assert.equal(rt.rate('a', 30, 3000), 10);
  assert.equal(rt.rate('a', 30, 3000), 10, 'same snapshot keeps the rate');
  assert.equal(rt.rate('a', 30, 4000), 0);
  assert.equal(rt.rate('a', 5, 5000), null, 'a counter that went down restarts');
  assert.equal(rt.rate('a', 15, 7000), 5);
  assert.equal(rt.rate('b', 1, 7000), null, 'counters are independent');
  rt.keep({ b: true });
  assert.equal(rt.rate('a', 100, 8000), null, 'a forgotten counter restarts');
});

test('formatters', () => {
  assert.equal(m.fmtInt(1234567), '1,234,567');
  assert.equal(m.fmtInt(null), '–');
  assert.equal(m.fmtOffset(-1), '–');
  assert.equal(m.fmtOffset(12345), '12,345');
  assert.equal(m.fmtRate(null), '–');
  assert.equal(m.fmtRate(2.25), '2.3');
  assert.equal(m.fmtRate(1234.4), '1,234');
  assert.equal(m.fmtBytes(512), '512 B');
  assert.equal(m.fmtBytes(1536), '1.5 KiB');
  assert.equal(m.fmtDuration(0), '–');
  assert.equal(m.fmtDuration(250e6), '250 ms');
  assert.equal(m.fmtDuration(3.5e9), '3.5 s');
  assert.equal(m.fmtDuration(600e9), '10.0 min');
});

test('recovery text', () => {
  const zero = '0001-01-01T00:00:00Z';
  assert.equal(m.recoveryText({ Recovery: { StartTime: '2024-01-01T00:00:00Z', RecoveryTime: '2024-01-01T00:00:02.5Z', Offset: 9, Hwm: 10 } }), 'done in 2.5 s');
  assert.equal(m.recoveryText({ Recovery: { StartTime: '2024-01-01T00:00:00Z', RecoveryTime: zero, Offset: 49, Hwm: 200 } }), '50 / 200 (25%)');
  assert.equal(m.recoveryText({ Recovery: { StartTime: zero, RecoveryTime: zero, Offset: -1, Hwm: 0 } }), '–');
  assert.equal(m.recoveryText({}), '–');
});

function procStats(now, count, out, lag) {
  return {
    Group: {
      '1': {
        Now: now,
        TableStats: { Stalled: false, Status: 5, RunMode: 0, Recovery: { StartTime: '2024-01-01T00:00:00Z', RecoveryTime: '2024-01-01T00:00:01Z', Offset: 4, Hwm: 5 }, Input: { Count: 5, Bytes: 50, OffsetLag: 0, LastOffset: 4, Delay: 0 }, Writes: { Count: count, Bytes: 0 } },
        Joined: { 'limits-table': { Stalled: true, Status: 3, RunMode: 0, Recovery: null, Input: { Count: 0, Bytes: 0, OffsetLag: 7, LastOffset: 0, Delay: 0 }, Writes: null } },
        Input: { clicks: { Count: count, Bytes: count * 5, OffsetLag: lag, LastOffset: count - 1, Delay: 1.5e9 } },
        Output: { 'counter-table': { Count: out, Bytes: 0 } }
      },
      '0': {
        Now: now,
        TableStats: null,
        Joined: {},
        Input: { clicks: { Count: 1, Bytes: 1, OffsetLag: 0, LastOffset: 0, Delay: 0 }, other: { Count: 2, Bytes: 1, OffsetLag: 1, LastOffset: 1, Delay: 0 } },
        Output: {}
      }
    },
    Lookup: {}
  };
}

test('processor model', () => {
  const rt = new m.RateTracker();
  let seen = {};
  let model = m.processorModel(procStats('2024-01-01T00:00:10Z', 100, 100, 3), rt, 0, seen);
  assert.deepEqual(model.rows.map(r => r.partition), [0, 1], 'partitions sorted by number');
  const p1 = model.rows[1].cells;
  assert.equal(p1.state.text, 'running');
  assert.equal(p1.mode.text, 'active');
  assert.equal(p1.offset.text, '99');
  assert.equal(p1.lag.text, '3');
  assert.equal(p1.lag.cls, 'lagging');
  assert.equal(p1.consumed.text, '100');
  assert.equal(p1.consumeRate.text, '–', 'no rate on the first poll');
  assert.equal(p1.delay.text, '1.5 s');
  assert.equal(p1.tableOffset.text, '4');
  assert.equal(p1.recovery.text, 'done in 1.0 s');
  assert.equal(p1.joined.text, 'limits-table: recovering, stalled, lag 7');
  const p0 = model.rows[0].cells;
  assert.equal(p0.state.text, 'stateless');
  assert.equal(p0.offset.text, 'clicks: 0, other: 1');
  assert.equal(p0.lag.text, '1');
  assert.equal(model.totals.lag.text, '4');
  assert.equal(model.totals.consumed.text, '103');
  assert.ok(seen['in/1/clicks'] && seen['out/1/counter-table']);

  // Two seconds later by the processor's clock: 40 more in, 20 more out.
  model = m.processorModel(procStats('2024-01-01T00:00:12Z', 140, 120, 0), rt, 0, {});
  assert.equal(model.rows[1].cells.consumeRate.text, '20');
  assert.equal(model.rows[1].cells.produceRate.text, '10');
  assert.equal(model.rows[0].cells.consumeRate.text, '0');
  assert.equal(model.totals.consumeRate.text, '20');
});

test('table model', () => {
  const rt = new m.RateTracker();
  const view = (count, bytes, status) => ({ Partitions: { '0': { Stalled: false, Status: status, RunMode: 0, Recovery: null, Input: { Count: count, Bytes: bytes, OffsetLag: 2, LastOffset: count - 1, Delay: 0 }, Writes: null } } });
  let model = m.tableModel(view(10, 1000, 3), rt, 1000, {}, 'view');
  assert.equal(model.rows.length, 1);
  assert.equal(model.rows[0].cells.state.text, 'recovering');
  assert.equal(model.rows[0].cells.state.cls, 'state recovering');
  assert.equal(model.rows[0].cells.offset.text, '9');
  assert.equal(model.rows[0].cells.rate.text, '–');
  model = m.tableModel(view(30, 3048, 5), rt, 3000, {}, 'view');
  assert.equal(model.rows[0].cells.rate.text, '10');
  assert.equal(model.rows[0].cells.byteRate.text, '1.0 KiB');
  assert.equal(model.totals.messages.text, '30');
  assert.deepEqual(m.tableModel({ Partitions: {} }, rt, 0, {}, 'view').rows, []);
  assert.deepEqual(m.tableModel(null, rt, 0, {}, 'view').rows, []);
});

console.log('script: ' + passed + ' passed, ' + failed + ' failed');
