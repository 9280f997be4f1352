/**
 * One LLaMA decoder layer on the tensor engine (pre-norm attention then pre-norm SwiGLU MLP, both residual).
 * The whole model and a pipeline stage both run their layers through this one function, so a split model
 * computes exactly what the unsplit one does.
 */
import { add, attention, matmul, rmsnorm, rope, swiglu } from '../tensor/ops.ts';
import type { QkvLayout, RopeTables } from '../tensor/ops.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { ModelConfig } from './config.ts';

export interface LayerLeaves {
  attnNorm: Tensor;
  /** fused [q; k; v] weight */
  qkv: Tensor;
  o: Tensor;
  mlpNorm: Tensor;
  /** fused [gate; up] weight */
  gateUp: Tensor;
  down: Tensor;
}

/** x → x + attn(norm(x)) → … + mlp(norm(…)); without a graph, intermediates (and x) are freed as it goes. */
export function decoderLayer(x: Tensor, l: LayerLeaves, cfg: ModelConfig, tables: RopeTables, layout: QkvLayout): Tensor {
  const ctx = x.ctx;
  const drop = (...ts: Tensor[]): void => {
    if (!ctx.isRecording) for (const t of ts) t.release();
  };
  const h = rmsnorm(x, l.attnNorm, cfg.normEps);
  const qkv = matmul(h, l.qkv, { transB: true });
  drop(h);
  const qkvR = rope(qkv, tables, layout);
  drop(qkv);
  const att = attention(qkvR, layout);
  drop(qkvR);
  const o = matmul(att, l.o, { transB: true });
  drop(att);
  const x2 = add(x, o);
  drop(x, o);
  const h2 = rmsnorm(x2, l.mlpNorm, cfg.normEps);
  const gu = matmul(h2, l.gateUp, { transB: true });
  drop(h2);
  const m = swiglu(gu);
  drop(gu);
  const dn = matmul(m, l.down, { transB: true });
  drop(m);
  const out = add(x2, dn);
  drop(x2, dn);
  return out;
}
