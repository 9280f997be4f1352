import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { devNetworkGenesis } from '../../../src/chain/embedded/dev-network.ts';
import { genesisState } from '../../../src/chain/embedded/state.ts';
import { initKeys } from '../../../src/chain/keys.ts';

before(async () => {
  await initKeys();
});

test('dev network: validators are pre-registered with stake; miners too, in order and without stake, only when asked', () => {
  const plain = devNetworkGenesis({ seed: 'dev', validators: 2, miners: 3 });
  const subnet = (g: typeof plain) => genesisState(g.genesis).subnets.get(g.netuid)!;
  assert.deepEqual(subnet(plain).neurons.map((n) => n.hotkey), [plain.owner.hotkey.address, ...plain.validators.map((v) => v.hotkey.address)]);

  const all = devNetworkGenesis({ seed: 'dev', validators: 2, miners: 3, registerMiners: true });
  const s = subnet(all);
  const expected = [all.owner, ...all.validators, ...all.miners].map((a) => a.hotkey.address);
  assert.deepEqual(s.neurons.map((n) => n.hotkey), expected);
  all.miners.forEach((m, i) => assert.equal(s.uids.get(m.hotkey.address), 3 + i, `miner-${i}'s uid`));
  for (const m of all.miners) assert.equal(s.stake.get(m.hotkey.address) ?? 0n, 0n);
  for (const v of all.validators) assert.ok((s.stake.get(v.hotkey.address) ?? 0n) > 0n);
});
