// A project as a user has it: qmpkit installed from the packed tarball (`npm pack`, then
// `npm install --offline` of the file: qmpkit has no runtime dependencies, so no network), with the
// repository's own TypeScript and Node types linked in for type-checking.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './golden.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export interface ConsumerProject {
  /** The temp directory holding the tarball and the project. */
  readonly dir: string;
  /** The project: package.json (`"type": "module"`), node_modules/qmpkit, typescript, @types/node. */
  readonly root: string;
  readonly tarball: string;
  /** Removes everything. */
  remove(): void;
}

/** Packs the working tree's dist/ (without rebuilding it) and installs it into a fresh project. */
export async function createConsumerProject(prefix: string): Promise<ConsumerProject> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const env = { ...process.env, npm_config_update_notifier: 'false' };
    const { stdout } = await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: PROJECT_ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [entry] = JSON.parse(stdout) as { filename: string }[];
    if (entry === undefined) throw new Error('npm pack listed no tarball');
    const tarball = join(dir, entry.filename);
    const root = join(dir, 'consumer');
    mkdirSync(root);
    writeFileSync(join(root, 'package.json'), '{"name": "consumer", "private": true, "type": "module"}\n');
    await run(NPM, ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: root, env });
    const modules = realpathSync(join(PROJECT_ROOT, 'node_modules'));
    mkdirSync(join(root, 'node_modules', '@types'), { recursive: true });
    symlinkSync(join(modules, 'typescript'), join(root, 'node_modules', 'typescript'), 'dir');
    symlinkSync(join(modules, '@types', 'node'), join(root, 'node_modules', '@types', 'node'), 'dir');
    return { dir, root, tarball, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
