/**
 * Parquet, read one row group at a time (only the text column) through hyparquet, with snappy, gzip, zstd,
 * brotli and lz4 pages decoded by hyparquet-compressors.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { inputError, textOf, type InputDocument } from './document.ts';

export async function* readParquet(file: string, textField: string): AsyncGenerator<InputDocument> {
  const buffer = await asyncBufferFromFile(file);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (e) {
    throw inputError(file, null, `not a readable parquet file (${(e as Error).message})`, e);
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  if (!columns.includes(textField)) {
    throw inputError(file, null, `has no column "${textField}" (columns: ${columns.join(', ')}); choose one with --text-field`);
  }
  let rowStart = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, columns: [textField], rowStart, rowEnd, compressors });
    } catch (e) {
      throw inputError(file, `row group ${g} (rows ${rowStart}..${rowEnd - 1})`, `cannot be decoded (${(e as Error).message})`, e);
    }
    if (rows.length !== rowEnd - rowStart) {
      throw inputError(file, `row group ${g}`, `decoded ${rows.length} rows, its metadata says ${rowEnd - rowStart}`);
    }
    for (let i = 0; i < rows.length; i++) {
      const where = `row ${rowStart + i}`;
      yield { text: textOf(rows[i][textField], file, where, textField), file, where };
    }
    rowStart = rowEnd;
  }
}
