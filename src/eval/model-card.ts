/** The evaluation report: one JSON object, and a markdown rendering laid out like a model card. */
import type { ModelConfig } from '../model/config.ts';
import type { MultipleChoiceResult } from './multiple-choice.ts';
import type { PerplexityResult } from './perplexity.ts';
import type { TaskScore } from './task-runner.ts';

export interface EvalReport {
  readonly model: { readonly config: ModelConfig; readonly params: number };
  readonly checkpoint: {
    readonly path: string;
    readonly origin: 'file' | 'store' | 'node';
    readonly fileSha256: string;
    readonly bytes: number;
    readonly window: number;
    readonly globalStep: number;
  } | null;
  readonly perplexity: PerplexityResult | null;
  readonly tasks: readonly MultipleChoiceResult[];
  /** tasks run as EvalTaskRunners (MMLU, GSM8K, IFEval files) */
  readonly scores?: readonly TaskScore[];
  readonly settings: { readonly threads: number; readonly batchSize: number; readonly limit: number | null };
  readonly seconds: number;
}

const pct = (x: number): string => (100 * x).toFixed(1);
const se = (x: number): string => (Number.isFinite(x) ? `± ${pct(x)}` : '');

function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function renderModelCard(r: EvalReport): string {
  const c = r.model.config;
  const lines: string[] = [];
  lines.push(`## Evaluation: ${c.name} (${humanCount(r.model.params)} parameters)`, '');
  lines.push('| | |', '|---|---|');
  lines.push(`| architecture | LLaMA, ${c.nLayers} layers, dim ${c.dim}, ${c.nHeads} heads (${c.nKvHeads} kv), ffn ${c.ffnDim}, vocab ${c.vocabSize}, context ${c.maxSeqLen}${c.tieEmbeddings ? ', tied embeddings' : ''} |`);
  if (r.checkpoint) {
    const k = r.checkpoint;
    lines.push(`| checkpoint | \`${k.path}\` (${k.origin}) |`);
    lines.push(`| window / global step | ${k.window} / ${k.globalStep} |`);
    lines.push(`| sha256 | \`${k.fileSha256.slice(0, 16)}…\` (${(k.bytes / 1e6).toFixed(1)} MB) |`);
  } else {
    lines.push('| checkpoint | none (freshly initialised weights) |');
  }
  if (r.perplexity) {
    const p = r.perplexity;
    lines.push(`| held-out perplexity | **${p.perplexity.toFixed(2)}** (NLL ${p.meanNll.toFixed(4)} nats/token, ${p.tokens} tokens in ${p.sequences} × ${p.seqLen}) |`);
  }
  lines.push('');
  if (r.tasks.length > 0) {
    lines.push('| task | n | acc (%) | acc_norm (%) | acc_norm_tokens (%) | chance (%) |', '|---|---:|---:|---:|---:|---:|');
    for (const t of r.tasks) {
      lines.push(`| ${t.task} | ${t.n} | ${pct(t.acc.value)} ${se(t.acc.stderr)} | ${pct(t.accNorm.value)} ${se(t.accNorm.stderr)} | ${pct(t.accNormTokens.value)} ${se(t.accNormTokens.stderr)} | ${pct(t.chance)} |`);
    }
    lines.push('');
    lines.push('acc: argmax of summed log-likelihood; acc_norm: per UTF-8 byte of the choice (lm-eval); acc_norm_tokens: per token. ± is the standard error.');
    const cut = r.tasks.filter((t) => t.truncated > 0);
    if (cut.length > 0) lines.push(`Contexts cut to the model's ${c.maxSeqLen}-token window: ${cut.map((t) => `${t.task} ${t.truncated}`).join(', ')}.`);
  }
  if (r.scores !== undefined && r.scores.length > 0) {
    lines.push('| task | kind | n | metric | value |', '|---|---|---:|---|---:|');
    for (const t of r.scores) {
      const names = [t.primary, ...Object.keys(t.metrics).filter((k) => k !== t.primary)];
      const show = (v: number): string => (t.kind === 'perplexity' ? v.toFixed(3) : `${pct(v)}%`);
      names.forEach((k, i) => {
        const m = t.metrics[k];
        const value = `${show(m.value)} ${t.kind === 'perplexity' ? '' : se(m.stderr)}`.trim();
        lines.push(i === 0 ? `| ${t.task} | ${t.kind} | ${t.n} | **${k}** | **${value}** |` : `| | | | ${k} | ${value} |`);
      });
    }
    lines.push('');
  }
  lines.push(`Evaluated in ${r.seconds.toFixed(1)} s (${r.settings.threads} threads, batch ${r.settings.batchSize}${r.settings.limit !== null ? `, first ${r.settings.limit} examples per task` : ''}).`);
  return lines.join('\n') + '\n';
}
