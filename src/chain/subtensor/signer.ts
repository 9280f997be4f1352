import type { ApiPromise } from '@polkadot/api';
import type { Signer, SignerResult } from '@polkadot/api/types';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, decodeAddress } from '@polkadot/util-crypto';
import type { HotkeySigner } from '../types.ts';
import { SubtensorError } from './errors.ts';

/** A hotkey or coldkey signer. `type` is read when present (a `KeyringPair` has it); sr25519 otherwise. */
export interface KeySigner extends HotkeySigner {
  readonly type?: string;
}

type Registry = ApiPromise['registry'];
type SignerPayloadJSON = Parameters<NonNullable<Signer['signPayload']>>[0];

/** `MultiSignature` variant index of each key type. */
const SIGNATURE_VARIANT: Readonly<Record<string, number>> = { ed25519: 0, sr25519: 1, ecdsa: 2 };

/**
 * Adapts a `HotkeySigner` to polkadot.js' `Signer`: signs the SCALE extrinsic payload (blake2-256 of it when
 * longer than 256 bytes, as the runtime verifies) and returns a `MultiSignature` with its variant byte.
 */
export function payloadSigner(registry: Registry, key: KeySigner): Signer {
  const variant = SIGNATURE_VARIANT[key.type ?? 'sr25519'];
  if (variant === undefined) {
    throw new SubtensorError('InvalidArgument', `unsupported key type ${key.type}; subtensor accepts sr25519, ed25519, ecdsa`);
  }
  const publicKey = decodeAddress(key.address);
  let nextId = 1;
  return {
    signPayload: async (payload: SignerPayloadJSON): Promise<SignerResult> => {
      if (u8aToHex(decodeAddress(payload.address)) !== u8aToHex(publicKey)) {
        throw new SubtensorError('InvalidArgument', `payload is for ${payload.address}, signer holds ${key.address}`);
      }
      const encoded = registry.createType('ExtrinsicPayload', payload, { version: payload.version }).toU8a({ method: true });
      const message = encoded.length > 256 ? blake2AsU8a(encoded, 256) : encoded;
      const signature = key.sign(message);
      return { id: nextId++, signature: u8aToHex(u8aConcat(new Uint8Array([variant]), signature)) };
    },
  };
}
