import assert from 'node:assert/strict';
import { devKey, initKeys, type KeyringPair } from '../../../src/chain/keys.ts';
import { ChainRuntime } from '../../../src/chain/embedded/runtime.ts';
import { EmbeddedChainError, type EmbeddedChainErrorCode } from '../../../src/chain/embedded/errors.ts';
import type { GenesisConfig } from '../../../src/chain/embedded/state.ts';
import { signTx, verifyTx, type Call } from '../../../src/chain/embedded/tx.ts';
import type { TxOutcome } from '../../../src/chain/embedded/runtime.ts';

export const TOKEN = 1_000_000_000n;

export interface Keys {
  ownerCold: KeyringPair;
  ownerHot: KeyringPair;
  cold: KeyringPair[];
  hot: KeyringPair[];
}

export async function makeKeys(seed: string, count: number): Promise<Keys> {
  await initKeys();
  return {
    ownerCold: devKey(seed, 'owner-cold'),
    ownerHot: devKey(seed, 'owner-hot'),
    cold: Array.from({ length: count }, (_, i) => devKey(seed, `cold-${i}`)),
    hot: Array.from({ length: count }, (_, i) => devKey(seed, `hot-${i}`)),
  };
}

/** Drives a runtime block by block, signing transactions the way the client does. */
export class Driver {
  ts = 1_700_000_000_000;
  constructor(readonly rt: ChainRuntime) {}

  static genesis(config: GenesisConfig): Driver {
    return new Driver(ChainRuntime.genesis({ timestampMs: 1_700_000_000_000, ...config }));
  }

  get block(): number {
    return this.rt.head.number;
  }

  /** Opens the next block. */
  step(blocks = 1): void {
    for (let i = 0; i < blocks; i++) {
      this.ts += 12_000;
      this.rt.beginBlock(this.ts);
    }
  }

  sign(signer: KeyringPair, call: Call, cosigner?: KeyringPair, refBlock = this.block): unknown {
    return signTx(this.rt.state.genesisHash, refBlock, signer, call, cosigner);
  }

  /** Verifies and applies in the current block. */
  tx(signer: KeyringPair, call: Call, cosigner?: KeyringPair): TxOutcome {
    return this.rt.apply(verifyTx(this.sign(signer, call, cosigner), this.rt.state.genesisHash));
  }
}

export function rejectsWith(code: EmbeddedChainErrorCode, f: () => unknown): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof EmbeddedChainError, `expected EmbeddedChainError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

export async function rejectsAsync(code: EmbeddedChainErrorCode, p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof EmbeddedChainError, `expected EmbeddedChainError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** Polls `f` every `pollMs` until it returns a value, failing after `timeoutMs`. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, pollMs: number, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
