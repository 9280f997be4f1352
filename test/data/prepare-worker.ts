// Child process for the concurrent-prepare test: prepares the dataset under argv[2] and prints a fingerprint.
import { ensureDataset } from '../../src/data/index.ts';

const ds = ensureDataset({ root: process.argv[2] });
console.log(JSON.stringify({ train: ds.tokenCount('train'), id: ds.sampleId('train', 100, 64).toString() }));
