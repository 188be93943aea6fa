import type { App } from '@slack/bolt';
import type { Logger } from '../log.js';
import { failureText, logFailureWithReference } from './failure-reference.js';
import { completeManualTask, TaskNotFoundError, TaskRefusedError } from '../orchestrator/manual-tasks.js';
import type { Authorization } from '../orchestrator/authorize-decider.js';
import type { Db } from '../db/database.js';
import type { PgBoss } from 'pg-boss';
import type { AdapterRegistry } from '../orchestrator/adapter-registry.js';
import { MANUAL_TASK_DONE, manualTaskDoneMessage } from './messages/orchestrator.js';

/**
 * The Done button of a manual task: IT or the system's owners confirm the work, the task's
 * operation is verified in their name, and the message is replaced by who did it; anyone else is
 * told alone (ephemeral) that they may not. The logic is completeManualTask's; this only turns the
 * click into that call (Slack is an edge).
 */
export function registerManualTaskActions(app: App, deps: { db: Db; boss: PgBoss; adapters: Pick<AdapterRegistry, 'manualSystems'>; authz: Authorization; log: Logger }): void {
  app.action(MANUAL_TASK_DONE, async ({ ack, body, action, client, respond }) => {
    await ack();
    const value = 'value' in action ? action.value : undefined;
    const taskId = Number(value);
    if (!Number.isSafeInteger(taskId) || taskId <= 0) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: `That button carries no task id ("${value ?? ''}"); use \`gatehouse tasks done <id>\`.` });
      return;
    }
    try {
      const task = await completeManualTask(deps, taskId, `slack:${body.user.id}`);
      if (!task.changed) {
        await respond({ response_type: 'ephemeral', replace_original: false, text: `Task #${task.id} was already ${task.status}${task.doneBy ? ` (by ${task.doneBy.replace(/^slack:/, '<@')}${task.doneBy.startsWith('slack:') ? '>' : ''})` : ''}.` });
        return;
      }
      const message = manualTaskDoneMessage({ taskId: task.id, kind: task.kind, entitlement: task.entitlement, email: task.email, doneBy: `<@${body.user.id}>` });
      const container = (body as { container?: { channel_id?: string; message_ts?: string } }).container;
      const channel = container?.channel_id ?? task.slackChannel;
      const ts = container?.message_ts ?? task.slackTs;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Block Kit built by our pure builder
      if (channel && ts) await client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as any });
    } catch (error) {
      if (error instanceof TaskNotFoundError || error instanceof TaskRefusedError) {
        await respond({ response_type: 'ephemeral', replace_original: false, text: error.message });
        return;
      }
      const ref = logFailureWithReference(deps.log, error, { taskId }, 'marking a manual task done failed');
      await respond({ response_type: 'ephemeral', replace_original: false, text: failureText(`Gatehouse could not mark task #${taskId} done`, ref) });
    }
  });
}
