import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initKeys, keyFromMnemonic, signerOf } from '../../src/chain/keys.ts';
import { browserNodeName, hotkeySignedHeaders, HOTKEY_HEADERS, verifyHotkeyRequest } from '../../src/browser/hotkey-auth.ts';

const MNEMONIC = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';

test('a hotkey-signed gateway request verifies, and any change to it does not', async () => {
  await initKeys();
  const hot = signerOf(keyFromMnemonic(MNEMONIC, '//hot'));
  const other = signerOf(keyFromMnemonic(MNEMONIC, '//other'));
  const body = new TextEncoder().encode('{"kind":"uploaded"}\n');
  const now = 1_800_000_000_000;
  const h = hotkeySignedHeaders(hot, 'POST', '/events', body, now);
  assert.deepEqual(verifyHotkeyRequest(h, 'POST', '/events', body, now + 1000), { ok: true, hotkey: hot.address });
  const bad = (headers: Record<string, string>, path = '/events', b = body, at = now) => {
    const r = verifyHotkeyRequest(headers, 'POST', path, b, at);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.reason;
  };
  assert.match(bad(h, '/bucket'), /bad signature/);
  assert.match(bad(h, '/events', new TextEncoder().encode('{"kind":"forged"}\n')), /bad signature/);
  assert.match(bad({ ...h, [HOTKEY_HEADERS.hotkey]: other.address }), /bad signature/);
  assert.match(bad(h, '/events', body, now + 10 * 60_000), /from the gateway's clock/);
  assert.match(bad({ ...h, [HOTKEY_HEADERS.signature]: 'zz' }), /bad signature/);
  assert.match(bad({}), /not signed/);
  assert.equal(browserNodeName(hot.address), `browser-${hot.address.slice(0, 8)}`);
});
