import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExperimentError, linePlotSvg, niceTicks } from '../../src/experiment/index.ts';
import { findAll, parseXml } from './xml.ts';

describe('SVG line plot', () => {
  test('nice ticks', () => {
    assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(2.13, 3.4, 6), [2.2, 2.4, 2.6, 2.8, 3, 3.2, 3.4]);
    assert.deepEqual(niceTicks(0, 1.2e6, 6), [0, 200000, 400000, 600000, 800000, 1000000, 1200000]);
    assert.deepEqual(niceTicks(5, 5), [5]);
  });

  test('well-formed SVG: one polyline per series inside the plot area, legend, escaped labels', () => {
    const svg = linePlotSvg({
      title: 'loss <vs> tokens & "more"',
      xLabel: 'tokens',
      yLabel: 'loss',
      series: [
        { label: 'a & b', points: [{ x: 0, y: 3 }, { x: 10, y: 2 }, { x: 20, y: 1.5 }] },
        { label: 'c', points: [{ x: 0, y: 3.2 }, { x: 20, y: 1 }] },
      ],
    });
    const root = parseXml(svg);
    assert.equal(root.name, 'svg');
    assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
    const [, , w, h] = root.attrs.viewBox.split(' ').map(Number);
    const lines = findAll(root, 'polyline');
    assert.equal(lines.length, 2);
    for (const l of lines) {
      for (const pair of l.attrs.points.split(' ')) {
        const [x, y] = pair.split(',').map(Number);
        assert.ok(x >= 0 && x <= w && y >= 0 && y <= h, `point ${pair} inside the canvas`);
      }
    }
    // SVG y grows downwards: a falling loss is drawn with growing y, and x grows left to right
    const pts = lines[0].attrs.points.split(' ').map((p) => p.split(',').map(Number));
    assert.ok(pts[0][1] < pts[1][1] && pts[1][1] < pts[2][1], 'falling loss goes down the canvas');
    assert.ok(pts[0][0] < pts[1][0] && pts[1][0] < pts[2][0]);
    const texts = findAll(root, 'text').map((t) => t.text);
    assert.ok(texts.includes('loss <vs> tokens & "more"'));
    assert.ok(texts.includes('a & b') && texts.includes('c'));
    assert.ok(texts.includes('tokens') && texts.includes('loss'));
  });

  test('no data or non-finite points are typed errors', () => {
    const isBad = (e: unknown) => e instanceof ExperimentError && e.code === 'BadOption';
    assert.throws(() => linePlotSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [] }), isBad);
    assert.throws(() => linePlotSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ label: 'a', points: [{ x: 0, y: NaN }] }] }), isBad);
  });

  test('the parser used here rejects malformed XML', () => {
    for (const bad of ['<svg><g></svg>', '<svg a="1" a="2"/>', '<svg>&foo;</svg>', '<svg></svg><svg></svg>', '<svg x=1/>']) {
      assert.throws(() => parseXml(bad), Error, bad);
    }
  });
});
