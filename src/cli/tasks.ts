import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { createAdapterRegistry } from '../orchestrator/adapter-registry.js';
import { completeManualTask, openTasks, TaskNotFoundError } from '../orchestrator/manual-tasks.js';
import { startQueue } from '../orchestrator/queue.js';
import { CliError, EXIT } from './exit.js';
import { openDatabase } from './open-database.js';

/** `gatehouse tasks [--format json]`: the manual tasks waiting on people, oldest first. */
export async function tasksListCommand(options: { format: string }): Promise<void> {
  if (options.format !== 'table' && options.format !== 'json') throw new CliError(`--format must be table or json, not "${options.format}"`, EXIT.usage);
  const database = await openDatabase();
  try {
    const tasks = await openTasks(database.handle.db);
    if (options.format === 'json') {
      console.log(JSON.stringify({ tasks: tasks.map((t) => ({ id: t.id, kind: t.kind, entitlement: t.entitlement, email: t.email, reason: t.reason, created_at: t.createdAt.toISOString() })) }, null, 2));
      return;
    }
    if (tasks.length === 0) {
      console.log('no open manual tasks');
      return;
    }
    for (const t of tasks) console.log(`#${String(t.id).padEnd(5)} ${t.createdAt.toISOString().slice(0, 16).replace('T', ' ')}  ${t.kind === 'grant' ? 'provide  ' : 'take back'}  ${t.entitlement}  for ${t.email}${t.reason ? `  (${t.reason})` : ''}`);
  } finally {
    await database.close();
  }
}

/** `gatehouse tasks done ID [--by WHO]`: someone did the task; its operation is verified in their name. */
export async function tasksDoneCommand(id: string, options: { by: string }): Promise<void> {
  const taskId = Number(id);
  if (!/^\d+$/.test(id) || !Number.isSafeInteger(taskId) || taskId <= 0) throw new CliError(`"${id}" is not a task id; \`gatehouse tasks\` lists them`, EXIT.usage);
  if (options.by.trim() === '') throw new CliError('--by must name who did the task', EXIT.usage);
  const database = await openDatabase();
  const boss = await startQueue(database.url, createLogger('warn', process.stderr), { schedule: false });
  try {
    const config = loadConfig();
    const adapters = createAdapterRegistry(config, { sql: database.handle.pool });
    // The operator on the server is allowed (and audited as cli:<who>); no Slack directory here.
    const authz = { rules: { itAdmins: config.itAdmins, systemOwners: config.systemOwners }, directory: null };
    const task = await completeManualTask({ db: database.handle.db, boss, adapters, authz }, taskId, `cli:${options.by.trim()}`);
    if (!task.changed) {
      console.log(`task #${task.id} was already ${task.status}${task.doneBy ? ` (by ${task.doneBy})` : ''}; nothing changed`);
      return;
    }
    console.log(`task #${task.id} done: ${task.kind === 'grant' ? 'provided' : 'took back'} ${task.entitlement} for ${task.email}`);
  } catch (error) {
    if (error instanceof TaskNotFoundError) throw new CliError(error.message, EXIT.failed);
    throw error;
  } finally {
    await boss.stop({ graceful: false });
    await database.close();
  }
}
