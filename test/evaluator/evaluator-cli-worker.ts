// `tessera evaluator` alone (the command module as main.ts registers it), so this test does not depend on other commands loading.
import { Command } from 'commander';
import { register } from '../../src/cli/commands/evaluator.ts';

const program = new Command().name('tessera');
register(program);
await program.parseAsync(process.argv);
