import { Command } from 'commander';
import { register as registerMiner } from './commands/miner.ts';
import { register as registerValidator } from './commands/validator.ts';
import { register as registerNet } from './commands/net.ts';
import { register as registerChain } from './commands/chain.ts';
import { register as registerKeys } from './commands/keys.ts';
import { register as registerExperiment } from './commands/experiment.ts';
import { register as registerData } from './commands/data.ts';
import { register as registerEval } from './commands/eval.ts';
import { register as registerGenerate } from './commands/generate.ts';
import { register as registerDashboard } from './commands/dashboard.ts';
import { register as registerEvaluator } from './commands/evaluator.ts';
import { register as registerSim } from './commands/sim.ts';
import { register as registerGroupStage } from './commands/group-stage.ts';
import { register as registerBrowserGateway } from './commands/browser-gateway.ts';

/** Builds the `tessera` command tree. Each domain contributes its subcommands from `src/cli/commands/`. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tessera')
    .description('Permissionless, incentivized, decentralized LLM training (SparseLoCo + Gauntlet)')
    .showHelpAfterError();
  // subcommands registered below (one line per domain)
  registerMiner(program);
  registerValidator(program);
  registerNet(program);
  registerChain(program);
  registerKeys(program);
  registerExperiment(program);
  registerData(program);
  registerEval(program);
  registerGenerate(program);
  registerDashboard(program);
  registerEvaluator(program);
  registerSim(program);
  registerGroupStage(program);
  registerBrowserGateway(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
