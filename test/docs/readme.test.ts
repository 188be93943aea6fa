import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/main.js';
import { envSchema } from '../../src/config.js';
import { ROOT } from '../helpers/process.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = (heading: string) => {
  const start = readme.indexOf(`## ${heading}`);
  expect(start, `README has a "${heading}" section`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 3);
  return readme.slice(start, end === -1 ? undefined : end);
};

/** The README is part of the product: these fail when code and README disagree. */
describe('README stays true', () => {
  it('documents every environment variable the config schema reads', () => {
    const configuration = section('Configuration');
    const missing = Object.keys(envSchema.shape).filter((name) => !configuration.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('documents every CLI command', () => {
    const cli = section('CLI');
    const names: string[] = [];
    for (const command of buildProgram().commands) {
      if (command.commands.length === 0) names.push(command.name());
      for (const sub of command.commands) names.push(`${command.name()} ${sub.name()}`);
    }
    const missing = names.filter((name) => !cli.includes(`gatehouse ${name}`));
    expect(missing).toEqual([]);
  });

  it('has the two Quick start commands', () => {
    const quick = section('Quick start');
    expect(quick).toContain('npm ci && npm start');
    expect(quick).toContain('npm ci && npm test');
  });

  it('lists every dependency in package.json under Dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<
      string,
      Record<string, string>
    >;
    const deps = section('Dependencies');
    const all = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})].filter(
      (d) => !d.startsWith('@types/'),
    );
    expect(all.filter((d) => !deps.includes(`\`${d}\``))).toEqual([]);
  });
});

describe('manifest.yml', () => {
  const manifest = parse(readFileSync(join(ROOT, 'manifest.yml'), 'utf8'));

  it('creates the app in one step: bot user, /access, interactivity, App Home, Socket Mode', () => {
    expect(manifest.features.bot_user.display_name).toBe('Gatehouse');
    expect(manifest.features.slash_commands.map((c: { command: string }) => c.command)).toEqual(['/access']);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toContain('app_home_opened');
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    for (const url of [
      manifest.settings.interactivity.request_url,
      manifest.settings.event_subscriptions.request_url,
    ]) {
      expect(new URL(url).pathname).toBe('/slack/events');
    }
  });

  it('every bot scope is explained in the README, and the README lists no other', () => {
    const scopes: string[] = manifest.oauth_config.scopes.bot;
    const setup = section('Slack app setup');
    const documented = [...setup.matchAll(/^\| `([a-z.:_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...scopes].sort());
  });
});
