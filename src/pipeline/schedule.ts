/**
 * The micro-batched schedule, GPipe style: every stage runs all of a step's micro-batch forwards, then all
 * their backwards in micro-batch order (0 first, as gradient accumulation over the same micro-batches would).
 * The same function drives a stage whether its neighbours are in this process (channel.ts) or behind TCP
 * (transport.ts). The first stage cuts the batch into micro-batches of whole rows; the last weighs each
 * micro-batch's mean loss by its share of the step's targets, so the step's loss and gradients are those of
 * the whole batch's mean loss.
 */
import { errorMessage } from '../core/errors.ts';
import { splitBatch } from '../model/batch.ts';
import type { Batch } from '../model/batch.ts';
import { PipelineError } from './errors.ts';
import type { BackwardMsg, DownstreamEnd, ForwardMsg, UpstreamEnd } from './messages.ts';
import type { Stage } from './stage.ts';

export interface StageStepIo {
  /** null on the first stage */
  readonly prev: UpstreamEnd | null;
  /** null on the last stage */
  readonly next: DownstreamEnd | null;
}

export interface StageStepResult {
  /** the step's loss (every stage learns it from the backward messages) */
  readonly loss: number;
  readonly microBatches: number;
  readonly tokens: number;
}

/** Micro-batch m of a batch: rows [m·B/M, (m+1)·B/M). */
export function microBatch(batch: Batch, m: number, microBatches: number): Batch {
  if (!Number.isInteger(microBatches) || microBatches < 1 || batch.batchSize % microBatches !== 0) {
    throw new PipelineError('BadConfig', `batchSize ${batch.batchSize} does not split into ${microBatches} micro-batches of whole rows`);
  }
  const rows = batch.batchSize / microBatches;
  const row = batch.seqLen + 1;
  return {
    tokens: batch.tokens.subarray(m * rows * row, (m + 1) * rows * row),
    batchSize: rows,
    seqLen: batch.seqLen,
    targetMask: batch.targetMask?.subarray(m * rows * batch.seqLen, (m + 1) * rows * batch.seqLen),
  };
}

function expect(cond: boolean, what: string): void {
  if (!cond) throw new PipelineError('Protocol', what);
}

/**
 * Runs one step of one stage. The first stage passes `batch` and `microBatches`; the others learn both from
 * what arrives. On failure the stage's in-flight graphs are freed, its neighbours are told (abort) and the
 * error (StageGone, StageTimeout, …) propagates.
 */
export async function runStageStep(stage: Stage, io: StageStepIo, step: number, batch?: Batch, microBatches = 1): Promise<StageStepResult> {
  const first = stage.spec.hasEmbedding, last = stage.spec.hasHead;
  if (first !== (io.prev === null) || last !== (io.next === null)) {
    throw new PipelineError('BadConfig', `stage ${stage.spec.index}: neighbours do not match its place in the pipeline`);
  }
  if (first && batch === undefined) throw new PipelineError('BadConfig', 'the first stage needs the batch');
  stage.beginStep();
  try {
    const counts: number[] = [];
    const losses: number[] = [];
    let M = microBatches;
    let tokens = 0;
    for (let m = 0; m < M; m++) {
      let msg: ForwardMsg;
      if (first) {
        const mb = microBatch(batch!, m, M);
        const { inputs, targets } = splitBatch(mb, stage.config);
        msg = { step, mb: m, microBatches: M, batchSize: mb.batchSize, seqLen: mb.seqLen, inputs, targets, acts: new Float32Array(0) };
      } else {
        msg = await io.prev!.recvForward();
        if (m === 0) M = msg.microBatches;
        expect(msg.step === step && msg.mb === m && msg.microBatches === M, `stage ${stage.spec.index}: expected forward ${step}/${m}, got ${msg.step}/${msg.mb} of ${msg.microBatches}`);
      }
      tokens += msg.batchSize * msg.seqLen;
      const out = stage.forward({ ...msg, acts: first ? null : msg.acts });
      if (out.kind === 'acts') await io.next!.sendForward({ ...msg, acts: out.acts });
      else {
        counts.push(out.count);
        losses.push(out.loss);
      }
    }
    let total = 0;
    for (const c of counts) total += c;
    let loss = 0;
    for (let m = 0; m < M; m++) {
      let back: BackwardMsg;
      if (last) {
        const weight = total === 0 ? 0 : counts[m] / total;
        const grad = stage.backward(m, { seed: weight });
        loss += losses[m] * weight;
        back = { step, mb: m, loss: losses[m], weight, grad: grad ?? new Float32Array(0) };
      } else {
        const got = await io.next!.recvBackward();
        expect(got.step === step && got.mb === m, `stage ${stage.spec.index}: expected backward ${step}/${m}, got ${got.step}/${got.mb}`);
        const grad = stage.backward(m, { grad: got.grad });
        loss += got.loss * got.weight;
        back = { ...got, grad: grad ?? new Float32Array(0) };
      }
      if (!first) await io.prev!.sendBackward(back);
    }
    return { loss, microBatches: M, tokens };
  } catch (e) {
    // neighbours waiting on this stage learn at once instead of at their timeout
    const reason = `stage ${stage.spec.index} failed step ${step}: ${errorMessage(e)}`;
    await Promise.all([io.prev?.abort?.(reason), io.next?.abort?.(reason)]);
    throw e;
  } finally {
    stage.endStep();
  }
}
