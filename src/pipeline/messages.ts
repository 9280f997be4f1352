/**
 * What crosses a stage boundary, and how many bytes it takes on the wire. One forward message per micro-batch
 * goes downstream (the token ids and targets ride along: later stages need the ids to rebuild compressed
 * activations, the last stage needs the targets), one backward message per micro-batch comes back.
 */
export type Floats = Float32Array | Float64Array;

export interface ForwardMsg {
  readonly step: number;
  readonly mb: number;
  /** micro-batches in this step */
  readonly microBatches: number;
  readonly batchSize: number;
  readonly seqLen: number;
  /** batchSize*seqLen input ids */
  readonly inputs: Int32Array;
  /** batchSize*seqLen target ids, -100 where ignored */
  readonly targets: Int32Array;
  /** batchSize*seqLen rows of `width` values: the residual stream (dim) or its subspace coordinates (rank) */
  readonly acts: Floats;
}

export interface BackwardMsg {
  readonly step: number;
  readonly mb: number;
  /** this micro-batch's mean loss, and its weight in the step's loss (its share of the step's targets) */
  readonly loss: number;
  readonly weight: number;
  /** d(step loss)/d(acts), same layout as the forward acts */
  readonly grad: Floats;
}

/** The downstream side of a boundary as the upstream stage sees it. */
export interface DownstreamEnd {
  sendForward(msg: ForwardMsg): Promise<void>;
  recvBackward(): Promise<BackwardMsg>;
  /** Tells the neighbour this stage gave up the step (a transport's neighbour then fails with StageGone). */
  abort?(reason: string): Promise<void>;
}

/** The upstream side of a boundary as the downstream stage sees it. */
export interface UpstreamEnd {
  recvForward(): Promise<ForwardMsg>;
  sendBackward(msg: BackwardMsg): Promise<void>;
  abort?(reason: string): Promise<void>;
}

/** Bytes of the length prefix, the frame header (type u8, seq u32) and the HMAC-SHA256 tag of every data frame. */
export const FRAME_PREFIX_BYTES = 4;
export const FRAME_HEADER_BYTES = 5;
export const FRAME_TAG_BYTES = 32;
/** step u32, mb u32, microBatches u32, batchSize u32, seqLen u32, width u32, bytesPerValue u8 */
export const FORWARD_FIELDS_BYTES = 25;
/** step u32, mb u32, loss f64, weight f64, values u32, bytesPerValue u8 */
export const BACKWARD_FIELDS_BYTES = 29;
const FRAME_OVERHEAD = FRAME_PREFIX_BYTES + FRAME_HEADER_BYTES + FRAME_TAG_BYTES;

/** Activation (or activation-gradient) payload: rows × width values. */
export function activationPayloadBytes(rows: number, width: number, bytesPerValue: number): number {
  return rows * width * bytesPerValue;
}

/** A whole forward frame on the wire: overhead, fields, 4-byte input and target ids per row, the activations. */
export function forwardFrameBytes(rows: number, width: number, bytesPerValue: number): number {
  return FRAME_OVERHEAD + FORWARD_FIELDS_BYTES + 8 * rows + activationPayloadBytes(rows, width, bytesPerValue);
}

/** A whole backward frame on the wire. */
export function backwardFrameBytes(rows: number, width: number, bytesPerValue: number): number {
  return FRAME_OVERHEAD + BACKWARD_FIELDS_BYTES + activationPayloadBytes(rows, width, bytesPerValue);
}

/**
 * Bytes one boundary carries in one step of `microBatches` micro-batches of `rows` tokens each (both
 * directions): width = dim without compression, the subspace rank with it.
 */
export function boundaryStepBytes(rows: number, microBatches: number, width: number, bytesPerValue: number): number {
  return microBatches * (forwardFrameBytes(rows, width, bytesPerValue) + backwardFrameBytes(rows, width, bytesPerValue));
}
