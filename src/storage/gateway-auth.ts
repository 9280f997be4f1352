/**
 * Request signing of the store gateway (gateway-server.ts, gateway-store.ts). A request carries its access key id,
 * its time and HMAC-SHA256(key = SHA-256(secret), "METHOD\nPATH?QUERY\nTIME\nSHA-256(BODY) hex"). The gateway
 * knows only the secret's SHA-256 (the bucket's `.bucket.json`), so the secret itself never travels and never rests
 * on the gateway; a signature is valid for MAX_SKEW_MS either side of the gateway's clock. Pure JS: it runs in
 * browsers too.
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import type { StoreErrorCode } from './errors.ts';

export const MAX_SKEW_MS = 5 * 60_000;

export const GATEWAY_HEADERS = {
  accessKey: 'x-tessera-access-key',
  time: 'x-tessera-time',
  signature: 'x-tessera-signature',
} as const;

export function secretSha256Hex(secret: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(secret)));
}

/** The HTTP status the gateway answers each store error with; the client maps a status's error code back by it. */
export const GATEWAY_ERROR_STATUS: Readonly<Record<StoreErrorCode, number>> = Object.freeze({
  NotFound: 404,
  NoSuchBucket: 404,
  AccessDenied: 403,
  InvalidCredentials: 403,
  Timeout: 504,
  Transient: 503,
  TooLarge: 413,
  InvalidKey: 400,
  InvalidRange: 416,
  InvalidArgument: 400,
  InvalidCommitment: 400,
  Unknown: 500,
});

export function isStoreErrorCode(code: string): code is StoreErrorCode {
  return Object.hasOwn(GATEWAY_ERROR_STATUS, code);
}

/** What a gateway request's signature covers: "METHOD\nPATH?QUERY\nTIME\nSHA-256(BODY) hex" (hotkey-auth.ts prefixes it). */
export function canonicalRequest(method: string, pathAndQuery: string, timeMs: number, body: Uint8Array): string {
  return `${method.toUpperCase()}\n${pathAndQuery}\n${timeMs}\n${bytesToHex(sha256(body))}`;
}

/** The signature hex, keyed by the secret's SHA-256 (hex) as `.bucket.json` stores it. */
export function gatewaySignature(secretSha256: string, method: string, pathAndQuery: string, timeMs: number, body: Uint8Array): string {
  return bytesToHex(hmac(sha256, hexToBytes(secretSha256), new TextEncoder().encode(canonicalRequest(method, pathAndQuery, timeMs, body))));
}

export function signedHeaders(accessKeyId: string, secret: string, method: string, pathAndQuery: string, body: Uint8Array, nowMs = Date.now()): Record<string, string> {
  return {
    [GATEWAY_HEADERS.accessKey]: accessKeyId,
    [GATEWAY_HEADERS.time]: String(nowMs),
    [GATEWAY_HEADERS.signature]: gatewaySignature(secretSha256Hex(secret), method, pathAndQuery, nowMs, body),
  };
}
