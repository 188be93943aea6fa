import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { ownersOf } from '../src/orchestrator/authorize-decider.js';

function problems(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

/** Issue 27: SYSTEM_OWNERS names who, beside IT_ADMINS, decides each system's drift and manual tasks. */
describe('config: SYSTEM_OWNERS', () => {
  it('reads owners per system, a system named twice getting both, and scim covering every SCIM app', () => {
    const config = loadConfig({ SYSTEM_OWNERS: 'github=@github-admins, github=U024BE7LH,okta=@okta-admins,scim=@saas-owners,scim:figma=W0FIGMA' });
    expect(config.systemOwners).toEqual({ github: ['@github-admins', 'U024BE7LH'], okta: ['@okta-admins'], scim: ['@saas-owners'], 'scim:figma': ['W0FIGMA'] });
    expect(ownersOf(config, 'scim:figma')).toEqual(['W0FIGMA', '@saas-owners']);
    expect(ownersOf(config, 'jira')).toEqual([]);
    expect(loadConfig({}).systemOwners).toEqual({});
  });

  it('names the variable and what is wrong', () => {
    expect(problems({ SYSTEM_OWNERS: 'github:@github-admins' })).toEqual([{ variable: 'SYSTEM_OWNERS', message: '"github:@github-admins" is not <system>=<@slack-user-group or Slack user id> (e.g. github=@github-admins,okta=U024BE7LH)' }]);
    expect(problems({ SYSTEM_OWNERS: 'github=alice' })[0]?.variable).toBe('SYSTEM_OWNERS');
    expect(problems({ SYSTEM_OWNERS: 'gitub=@github-admins' })).toEqual([{ variable: 'SYSTEM_OWNERS', message: expect.stringMatching(/^unknown system "gitub"; known: okta, google/) }]);
  });
});
