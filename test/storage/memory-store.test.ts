import { describe } from 'node:test';
import { MemoryBucket, MemoryStore } from '../../src/storage/index.ts';
import { storeContract } from './contract.ts';

describe('MemoryStore contract', () => {
  const bucket = new MemoryBucket();
  storeContract(() => ({
    store: new MemoryStore(bucket, { name: 'rw' }),
    reader: new MemoryStore(bucket, { name: 'ro', readOnly: true }),
    largeSize: 12 * 1024 * 1024,
  }));
});
