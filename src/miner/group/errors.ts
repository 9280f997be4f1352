import { TesseraError } from '../../core/errors.ts';

export type GroupErrorCode =
  /** a group document (or a stage key file) that does not parse or whose fields are out of range */
  | 'Malformed'
  /** the group document's signature does not verify under the hotkey it names */
  | 'BadSignature'
  /** a stage key the group document does not bind to the hotkey, or a document for another hotkey */
  | 'Unbound'
  /** the stages disagree (another model split, another window, a part that does not fit its slice) */
  | 'Mismatch';

/** A pipeline-group miner cannot run as configured, or a stage's peer is not part of its group. */
export class GroupError extends TesseraError<GroupErrorCode> {
  override readonly name = 'GroupError';
}

export function isGroupError(err: unknown, code?: GroupErrorCode): err is GroupError {
  return err instanceof GroupError && (code === undefined || err.code === code);
}
