/**
 * Requests a browser miner makes to its gateway as itself (its bucket, its events) are signed by its hotkey:
 * sr25519 over "tessera-gateway\nMETHOD\nPATH?QUERY\nTIME\nSHA-256(BODY) hex", valid MAX_SKEW_MS either side of the
 * gateway's clock. Runs in browsers and Node.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { signatureVerify } from '@polkadot/util-crypto';
import type { HotkeySigner } from '../chain/types.ts';
import { canonicalRequest, MAX_SKEW_MS } from '../storage/gateway-auth.ts';

export const HOTKEY_HEADERS = { hotkey: 'x-tessera-hotkey', time: 'x-tessera-time', signature: 'x-tessera-hotkey-signature' } as const;

function message(method: string, pathAndQuery: string, timeMs: number, body: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`tessera-gateway\n${canonicalRequest(method, pathAndQuery, timeMs, body)}`);
}

export function hotkeySignedHeaders(hotkey: HotkeySigner, method: string, pathAndQuery: string, body: Uint8Array, nowMs = Date.now()): Record<string, string> {
  return {
    [HOTKEY_HEADERS.hotkey]: hotkey.address,
    [HOTKEY_HEADERS.time]: String(nowMs),
    [HOTKEY_HEADERS.signature]: bytesToHex(hotkey.sign(message(method, pathAndQuery, nowMs, body))),
  };
}

/** The signing hotkey's SS58 address, or a reason the request is not validly signed. */
export function verifyHotkeyRequest(
  headers: Record<string, string | string[] | undefined>,
  method: string,
  pathAndQuery: string,
  body: Uint8Array,
  nowMs = Date.now(),
): { ok: true; hotkey: string } | { ok: false; reason: string } {
  const hotkey = headers[HOTKEY_HEADERS.hotkey];
  const time = Number(headers[HOTKEY_HEADERS.time]);
  const sig = headers[HOTKEY_HEADERS.signature];
  if (typeof hotkey !== 'string' || typeof sig !== 'string' || !Number.isFinite(time)) return { ok: false, reason: 'the request is not signed by a hotkey' };
  if (Math.abs(nowMs - time) > MAX_SKEW_MS) return { ok: false, reason: `request time is more than ${MAX_SKEW_MS / 1000} s from the gateway's clock` };
  try {
    if (!/^[0-9a-fA-F]{128}$/.test(sig) || !signatureVerify(message(method, pathAndQuery, time, body), hexToBytes(sig), hotkey).isValid) {
      return { ok: false, reason: `bad signature for hotkey ${hotkey}` };
    }
  } catch (err) {
    return { ok: false, reason: `hotkey ${hotkey}: ${(err as Error).message}` };
  }
  return { ok: true, hotkey };
}

/** A browser miner's node name: `browser-` and the first 8 characters of its hotkey's address. */
export function browserNodeName(hotkey: string): string {
  return `browser-${hotkey.slice(0, 8)}`;
}
