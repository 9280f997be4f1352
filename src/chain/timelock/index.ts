export * from './beacon.ts';
export * from './errors.ts';
export { gtBytes, ibeDecrypt, ibeEncrypt, type IbeCiphertext } from './ibe.ts';
export * from './tle.ts';
export * from './weights-payload.ts';
