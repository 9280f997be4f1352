import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSubtensorError } from '../../../src/chain/subtensor/errors.ts';
import { RecordedProvider, requestKey } from '../../../src/chain/subtensor/recorded-provider.ts';

describe('RecordedProvider', () => {
  test('answers recorded requests; hex params match case-insensitively and trailing nulls are ignored', async () => {
    const p = new RecordedProvider([
      { method: 'chain_getHeader', params: [null], result: { number: '0x1' } },
      { method: 'state_call', params: ['Foo_bar', '0xABCD', '0xDB13'], result: '0x01' },
    ]);
    assert.deepEqual(await p.send('chain_getHeader', []), { number: '0x1' });
    assert.equal(await p.send('state_call', ['Foo_bar', '0xabcd', '0xdb13']), '0x01');
    assert.equal(requestKey('m', ['0xAB', null, undefined]), 'm["0xab"]');
    assert.deepEqual(p.requests.map((r) => r.method), ['chain_getHeader', 'state_call']);
  });

  test('an unknown request is rejected with UnrecordedRequest naming method and params', async () => {
    const p = new RecordedProvider([{ method: 'system_chain', params: [], result: 'Bittensor' }]);
    await assert.rejects(p.send('state_getStorage', ['0x1234', '0xbeef']), (err: unknown) => {
      assert.ok(isSubtensorError(err, 'UnrecordedRequest'));
      assert.match((err as Error).message, /no recorded answer for state_getStorage\(\["0x1234","0xbeef"\]\)/);
      return true;
    });
    await assert.rejects(p.subscribe('x', 'state_subscribeStorage', [], () => undefined), (err: unknown) => isSubtensorError(err, 'UnrecordedRequest'));
  });

  test('returned answers are copies: a caller mutating one cannot change the recording', async () => {
    const p = new RecordedProvider([{ method: 'm', params: [], result: { a: [1] } }]);
    const first = await p.send<{ a: number[] }>('m', []);
    first.a.push(2);
    assert.deepEqual(await p.send('m', []), { a: [1] });
  });

  test('handlers answer by request; subscription handlers push after the id, a throwing one rejects', async () => {
    const p = new RecordedProvider();
    p.handle('system_accountNextIndex', ([addr]) => (addr === 'a' ? 5 : 0));
    assert.equal(await p.send('system_accountNextIndex', ['a']), 5);

    p.handleSubscription('author_submitAndWatchExtrinsic', ([hex], sink) => {
      if (hex === '0xbad') throw new Error('1010: Invalid Transaction');
      sink.next('ready');
      sink.next({ inBlock: '0x01' });
    });
    const seen: unknown[] = [];
    let idKnown = false;
    const id = await p.subscribe('author_extrinsicUpdate', 'author_submitAndWatchExtrinsic', ['0x00'], (err, r) => {
      assert.equal(err, null);
      assert.ok(idKnown, 'notification before the subscription id');
      seen.push(r);
    });
    idKnown = true;
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ['ready', { inBlock: '0x01' }]);
    assert.equal(await p.unsubscribe('author_extrinsicUpdate', 'author_unwatchExtrinsic', id), true);
    await assert.rejects(p.subscribe('author_extrinsicUpdate', 'author_submitAndWatchExtrinsic', ['0xbad'], () => undefined), /1010/);
  });

  test('feeds deliver emitted values to open subscriptions only', async () => {
    const p = new RecordedProvider();
    const got: unknown[] = [];
    const id = await p.subscribe('chain_newHead', 'chain_subscribeNewHeads', [], (_e, r) => got.push(r));
    assert.equal(p.subscriberCount('chain_subscribeNewHeads'), 1);
    assert.equal(p.emit('chain_subscribeNewHeads', { number: '0x2' }), 1);
    await p.unsubscribe('chain_newHead', 'chain_unsubscribeNewHeads', id);
    assert.equal(p.emit('chain_subscribeNewHeads', { number: '0x3' }), 0);
    assert.deepEqual(got, [{ number: '0x2' }]);
  });

  test('without subscriptions it says so; disconnected it refuses everything', async () => {
    const p = new RecordedProvider([{ method: 'm', params: [], result: 1 }], { subscriptions: false });
    assert.equal(p.hasSubscriptions, false);
    await assert.rejects(p.subscribe('t', 'chain_subscribeNewHeads', [], () => undefined), /no subscriptions/);
    let disconnected = 0;
    p.on('disconnected', () => disconnected++);
    await p.disconnect();
    assert.equal(disconnected, 1);
    assert.equal(p.isConnected, false);
    await assert.rejects(p.send('m', []), (e: unknown) => isSubtensorError(e, 'UnrecordedRequest'));
    await p.connect();
    assert.equal(await p.send('m', []), 1);
  });
});
