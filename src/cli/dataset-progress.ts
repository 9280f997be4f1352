import { ensureDataset, type Dataset, type DatasetOptions } from '../data/dataset.ts';
import { createProgress, type Progress, type ProgressStream } from './progress.ts';

/** ensureDataset with a progress bar per split while tokenizing (only when the shards must be built). */
export function ensureDatasetWithProgress(opts: Omit<DatasetOptions, 'onProgress' | 'onDocuments'> = {}, stream?: ProgressStream): Dataset {
  const out = stream ?? process.stderr;
  let bar: Progress | null = null;
  let barSplit = '';
  try {
    return ensureDataset({
      ...opts,
      onProgress: (m) => {
        bar?.finish();
        bar = null;
        out.write(`[data] ${m}\n`);
      },
      onDocuments: (split, done, total) => {
        if (bar === null || barSplit !== split) {
          bar?.finish();
          bar = createProgress({ label: `[data] tokenizing ${split}`, total, unit: 'documents', stream: out });
          barSplit = split;
        }
        bar.update(done, total);
      },
    });
  } finally {
    (bar as Progress | null)?.finish();
  }
}
