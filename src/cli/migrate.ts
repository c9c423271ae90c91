import { openForCli, runCli } from './context.ts';

await runCli(async () => {
  const { database } = await openForCli();
  await database.close();
  console.log(`Migrations applied (${database.kind} database).`);
});
