// Executable docs: every ts/js block of README.md and docs/*.md, and docs/examples/, is type-checked
// as a user's module (strict, nodenext, ES2022, `qmpkit` installed from the packed tarball); blocks
// marked `<!-- doctest: run -->` run against a fresh simulator, and shell sessions so marked are
// replayed command by command with their output compared. The markers are described in
// CONTRIBUTING.md and test/helpers/doc-blocks.ts.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type * as SimulatorModule from '../../src/simulator/index.js';
import { type ConsumerProject, createConsumerProject } from '../helpers/consumer-project.js';
import {
  DOC_ADDRESS,
  type DocBlock,
  docBlocks,
  isCodeLang,
  isShellTranscript,
  normalizeTimestamps,
  outputMatches,
  sessionSteps,
  shellTranscript,
} from '../helpers/doc-blocks.js';
import { PROJECT_ROOT } from '../helpers/golden.js';
import { QEMU_BINARY, requireQemu } from '../helpers/qemu.js';

const DOCS = [
  'README.md',
  ...readdirSync(join(PROJECT_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const EXAMPLES = readdirSync(join(PROJECT_ROOT, 'docs/examples'))
  .filter((f) => f.endsWith('.ts'))
  .sort();
/** The examples that run on their own (no monitor needed) and end. */
const RUN_EXAMPLES = new Set(['typed-validate.ts', 'typed-codegen.ts']);
const BLOCKS = DOCS.flatMap((doc) => docBlocks(PROJECT_ROOT, doc));
const STEP_DEADLINE_MS = 20_000;
/** One tsc run over every block, on a cold cache and busy cores. */
const TSC_DEADLINE_MS = 180_000;
/** A block that starts QEMU, asks it something and shuts it down. */
const QEMU_DEADLINE_MS = 60_000;
const ADDRESS_ENV = 'QMPKIT_DOC_ADDRESS';
const HAS_JQ = spawnSync('jq', ['--version']).status === 0;

function slug(block: DocBlock): string {
  return `${block.doc.replace(/[^A-Za-z0-9]+/g, '_')}_L${block.firstLine}`;
}

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** Runs a process to its end (or kills it at the deadline), stdout and stderr merged in order. */
function runMerged(
  file: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  deadlineMs = STEP_DEADLINE_MS,
  input = '',
): Promise<Outcome> {
  return new Promise((resolve) => {
    // Its own process group: at the deadline the shell and whatever it started are killed together.
    const child = spawn(file, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, deadlineMs);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    child.stdin.on('error', () => {}); // a process that exits without reading its input
    child.stdin.end(input);
    child.on('error', (err) => {
      output += String(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

describe('the docs as a user runs them', { concurrency: false }, () => {
  let project: ConsumerProject | undefined;
  let sim: typeof SimulatorModule | undefined;
  /** tsc's diagnostics, mapped back to the docs: `docs/client.md:12:5 TS2345: ...`. */
  let diagnostics: string[] = [];
  const sources = new Map<string, { doc: string; firstLine: number }>();
  let simCount = 0;

  before(async () => {
    project = await createConsumerProject('qmpkit-docs-');
    const root = project.root;
    mkdirSync(join(root, 'blocks', 'examples'), { recursive: true });
    for (const block of BLOCKS) {
      if (!isCodeLang(block.lang) || block.mode === 'sketch' || block.mode === 'none') continue;
      // The address placeholder becomes the runner's address; the line count stays the same.
      const code = block.code.replaceAll(`'${DOC_ADDRESS}'`, `(process.env['${ADDRESS_ENV}'] ?? '')`);
      const file = `blocks/${slug(block)}.ts`;
      // `export {}`: a block without imports is still a module, with its own scope.
      writeFileSync(join(root, file), `${code}\nexport {};\n`);
      sources.set(file, { doc: block.doc, firstLine: block.firstLine });
    }
    for (const name of EXAMPLES) {
      copyFileSync(join(PROJECT_ROOT, 'docs/examples', name), join(root, 'blocks/examples', name));
      sources.set(`blocks/examples/${name}`, { doc: `docs/examples/${name}`, firstLine: 1 });
    }
    writeFileSync(
      join(root, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          skipLibCheck: true, // as `tsc --init` writes it
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          types: ['node'],
          rootDir: '.',
          outDir: 'js',
          noEmitOnError: false,
        },
        include: ['blocks/**/*.ts'],
      }),
    );
    const tsc = await runMerged(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.', '--pretty', 'false'],
      root,
      process.env,
      TSC_DEADLINE_MS,
    );
    if (tsc.signal !== null) throw new Error(`tsc did not finish within ${TSC_DEADLINE_MS} ms`);
    diagnostics = [];
    for (const line of tsc.output.split('\n')) {
      const m = /^(blocks\/[^(]+)\((\d+),(\d+)\): error (TS\d+: .*)$/.exec(line);
      if (m === null) {
        if (line.trim() !== '') diagnostics.push(line); // a continuation or a failure of tsc itself
        continue;
      }
      const src = sources.get(m[1] ?? '');
      diagnostics.push(src === undefined ? line : `${src.doc}:${src.firstLine + Number(m[2]) - 1}:${m[3]} ${m[4]}`);
    }
    sim = (await import(
      pathToFileURL(join(root, 'node_modules/qmpkit/dist/src/simulator/index.js')).href
    )) as typeof SimulatorModule;
  });
  after(() => project?.remove());

  /** A fresh simulator (the default machine, as `qmpkit sim`) with a monitor on a unix socket. */
  async function withSimulator<T>(use: (path: string) => Promise<T>): Promise<T> {
    assert.ok(sim !== undefined && project !== undefined);
    const path = join(project.dir, `qmp-${++simCount}.sock`);
    const s = await sim.startSimulator({ qmp: [`unix:${path},server=on,wait=off`] });
    try {
      return await use(path);
    } finally {
      await s.close();
    }
  }

  test('every ts/js block and example type-checks as a user module (strict, nodenext, es2022)', () => {
    assert.ok(sources.size > 10, `only ${sources.size} blocks found`);
    assert.deepEqual(diagnostics, []);
  });

  test('every shell session shown with its output is marked: replayed (run) or a sketch', () => {
    const unmarked = BLOCKS.filter(
      (b) => b.mode === 'none' && (/^\$ (npx )?(qmpkit|qmp-shell|npm start)/m.test(b.code) || isShellTranscript(b)),
    );
    assert.deepEqual(
      unmarked.map((b) => `${b.doc}:${b.firstLine}`),
      [],
    );
  });

  for (const block of BLOCKS.filter((b) => b.mode === 'run' && isCodeLang(b.lang))) {
    test(`${block.doc}:${block.firstLine} runs to its end against the simulator`, async () => {
      assert.ok(project !== undefined);
      const root = project.root;
      const outcome = await withSimulator((path) =>
        runMerged(process.execPath, [join(root, 'js/blocks', `${slug(block)}.js`)], root, {
          ...process.env,
          [ADDRESS_ENV]: path,
        }),
      );
      assert.deepEqual(
        { code: outcome.code, signal: outcome.signal },
        { code: 0, signal: null },
        `${block.doc}:${block.firstLine} ended badly:\n${outcome.output}`,
      );
    });
  }

  for (const block of BLOCKS.filter((b) => b.mode === 'run-qemu' && isCodeLang(b.lang))) {
    test(`${block.doc}:${block.firstLine} runs to its end with QEMU`, async (t) => {
      if (!requireQemu(t)) return;
      assert.ok(project !== undefined);
      // The docs name the binary; QMPKIT_QEMU may point to another one.
      const bin = join(project.dir, 'bin');
      mkdirSync(bin, { recursive: true });
      const link = join(bin, 'qemu-system-x86_64');
      if (!existsSync(link)) {
        const found = spawnSync('/bin/sh', ['-c', `command -v "$0"`, QEMU_BINARY], { encoding: 'utf8' });
        symlinkSync(found.stdout.trim() || QEMU_BINARY, link);
      }
      const outcome = await runMerged(
        process.execPath,
        [join(project.root, 'js/blocks', `${slug(block)}.js`)],
        project.root,
        { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
        QEMU_DEADLINE_MS,
      );
      assert.deepEqual(
        { code: outcome.code, signal: outcome.signal },
        { code: 0, signal: null },
        `${block.doc}:${block.firstLine} ended badly:\n${outcome.output}`,
      );
    });
  }

  for (const name of EXAMPLES.filter((n) => RUN_EXAMPLES.has(n))) {
    test(`docs/examples/${name} runs to its end`, async () => {
      assert.ok(project !== undefined);
      const outcome = await runMerged(
        process.execPath,
        [join(project.root, 'js/blocks/examples', name.replace(/\.ts$/, '.js'))],
        project.root,
        process.env,
      );
      assert.equal(outcome.code, 0, outcome.output);
    });
  }

  for (const block of BLOCKS.filter((b) => b.mode === 'run' && isShellTranscript(b))) {
    test(`${block.doc}:${block.firstLine} replays in qmp-shell against the simulator with the output shown`, async () => {
      assert.ok(project !== undefined);
      const root = project.root;
      const { input, expected } = shellTranscript(block);
      const outcome = await withSimulator((path) =>
        runMerged(
          join(root, 'node_modules/.bin/qmp-shell'),
          [path],
          root,
          process.env,
          STEP_DEADLINE_MS,
          input.map((l) => `${l}\n`).join(''),
        ),
      );
      let actual = normalizeTimestamps(outcome.output.replace(/\n$/, ''));
      // A transcript that does not show the banner starts after it (the banner ends at a blank line).
      if (!block.code.startsWith('Welcome')) actual = actual.slice(actual.indexOf('\n\n') + 2);
      const shown = normalizeTimestamps(expected.join('\n').replace(/\n$/, ''));
      assert.ok(
        outcome.signal === null && outputMatches(shown, actual),
        `${block.doc}:${block.firstLine}: qmp-shell with ${JSON.stringify(input)}\n--- shown:\n${shown}\n--- got:\n${actual}`,
      );
    });
  }

  for (const block of BLOCKS.filter((b) => b.mode === 'run' && !isCodeLang(b.lang) && !isShellTranscript(b))) {
    test(`${block.doc}:${block.firstLine} replays against the simulator with the output shown`, async () => {
      assert.ok(project !== undefined);
      const root = project.root;
      const steps = sessionSteps(block);
      assert.ok(steps.length > 0, 'a session marked to run has no `$ ` lines');
      await withSimulator(async (path) => {
        const env = {
          ...process.env,
          PATH: `${join(root, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`,
        };
        for (const step of steps) {
          if (/\bjq\b/.test(step.command) && !HAS_JQ) continue; // jq is the user's tool, not ours
          const outcome = await runMerged(
            '/bin/sh',
            ['-c', `exec 2>&1; ${step.command.replaceAll(DOC_ADDRESS, path)}`],
            root,
            env,
          );
          const actual = normalizeTimestamps(outcome.output.replaceAll(path, DOC_ADDRESS).replace(/\n$/, ''));
          const expected = normalizeTimestamps(step.expected.join('\n'));
          assert.ok(
            outcome.signal === null && outputMatches(expected, actual),
            `${block.doc}:${step.line}: $ ${step.command}\n--- shown:\n${expected}\n--- got:\n${actual}`,
          );
        }
      });
    });
  }
});
