import { Command } from 'commander';

/** Builds the `tessera` command tree. Each domain contributes its subcommands from `src/cli/commands/`. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tessera')
    .description('Permissionless, incentivized, decentralized LLM training (SparseLoCo + Gauntlet)')
    .showHelpAfterError();
  // subcommands registered below (one line per domain)
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
