// The binaries without QEMU: --help for every command, usage errors (exit 2), connection failures
// (exit 3), the dispatcher, the bin files themselves.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { QMP_SHELL, QMPKIT, qmpkit, qmpShell } from './helpers/run-cli.js';

describe('help', () => {
  test('qmpkit --help lists every subcommand and the exit codes', async () => {
    const r = await qmpkit(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['shell', 'exec', 'events', 'launch', 'start', 'sim', 'gen', 'proxy', 'ga', 'ga-shell']) {
      assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'), c);
    }
    assert.match(r.stdout, /^ {2}130 +interrupted/m);
  });

  test('no command prints the help on stderr and exits 2', async () => {
    const r = await qmpkit([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: qmpkit COMMAND/);
  });

  for (const c of ['shell', 'exec', 'events', 'launch', 'start', 'ga', 'ga-shell']) {
    test(`qmpkit ${c} --help and qmpkit help ${c}`, async () => {
      const r = await qmpkit([c, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^usage: /);
      assert.match(r.stdout, /Exit status/);
      const h = await qmpkit(['help', c]);
      assert.equal(h.stdout, r.stdout);
    });
  }

  for (const c of ['sim', 'gen', 'proxy']) {
    test(`qmpkit ${c} --help reaches its command`, async () => {
      const r = await qmpkit([c, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: qmpkit ${c} `));
    });
  }

  test('qmp-shell -h and --help', async () => {
    const r = await qmpShell(['-h']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: qmp-shell \[-h\] \[-H\] \[-N\] \[-v\] \[-p\] \[-l LOGFILE\]/);
    assert.equal((await qmpShell(['--help'])).stdout, r.stdout);
  });

  test('--version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await qmpkit(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `qmpkit ${pkg.version}\n`);
  });
});

describe('usage errors exit 2', () => {
  const cases: Array<[string[], RegExp]> = [
    [['bogus'], /unknown command 'bogus'/],
    [['exec'], /missing ADDRESS/],
    [['exec', '/tmp/x.sock'], /missing COMMAND/],
    [['exec', '/tmp/x.sock', 'eject', 'id'], /Expected a key=value pair, got 'id'/],
    [['exec', '/tmp/x.sock', 'eject', 'a=1', 'a=2'], /Cannot set "a" multiple times/],
    [['exec', '/tmp/x.sock', 'eject', '--args', '[1]'], /--args must be a JSON object/],
    [['exec', '/tmp/x.sock', 'eject', '--args', '{bad'], /Invalid JSON value/],
    [['exec', '/tmp/x.sock', 'x', '--hmp', 'info status'], /--hmp takes no COMMAND/],
    [['exec', '/tmp/x.sock', 'x', '--bogus'], /unknown option '--bogus'/],
    [['exec', '/tmp/x.sock', 'x', '--timeout-ms', 'soon'], /--timeout-ms needs an integer/],
    [['events'], /missing ADDRESS/],
    [['events', '/tmp/x.sock', '--match', 'novalue'], /--match needs KEY=VALUE/],
    [['events', '/tmp/x.sock', '--count', '0'], /--count needs an integer >= 1/],
    [['events', '/tmp/x.sock', 'extra'], /unexpected argument 'extra'/],
    [['launch'], /missing the QEMU command line/],
    [['launch', '--shell'], /missing the QEMU command line/],
    [['shell', '-l'], /option '-l' needs a value/],
    [['sim', '-sim-fault', 'bogus'], /-sim-fault bogus: unknown fault/],
  ];
  for (const [args, message] of cases) {
    test(args.join(' '), async () => {
      const r = await qmpkit(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  test('qmp-shell without an address or $QMP_SOCKET', async () => {
    const env = { ...process.env };
    delete env['QMP_SOCKET'];
    const r = await qmpShell([], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /QMP socket or TCP address must be specified/);
  });
});

describe('connection failures exit 3', () => {
  test('exec on a missing socket', async () => {
    const r = await qmpkit(['exec', '/nonexistent/qmp.sock', 'query-status']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^qmpkit exec: .*nonexistent\/qmp.sock/m);
  });

  test('events on a refused TCP port', async () => {
    const r = await qmpkit(['events', '127.0.0.1:1']);
    assert.equal(r.code, 3);
  });

  test("qmp-shell on a missing socket says Couldn't connect", async () => {
    const r = await qmpShell(['/nonexistent/qmp.sock']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^ERROR: Couldn't connect to \/nonexistent\/qmp.sock: /);
  });

  test('qmp-shell takes the address from $QMP_SOCKET', async () => {
    const r = await qmpShell([], { env: { ...process.env, QMP_SOCKET: '/nonexistent/env.sock' } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /Couldn't connect to \/nonexistent\/env.sock/);
  });

  test('launch with a missing binary', async () => {
    const r = await qmpkit(['launch', '--', '/nonexistent/qemu-system-x86_64']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /Could not run \/nonexistent\/qemu-system-x86_64/);
  });
});

test('the bin files start with a node shebang', () => {
  for (const f of [QMPKIT, QMP_SHELL]) {
    assert.equal(readFileSync(f, 'utf8').split('\n')[0], '#!/usr/bin/env node', f);
  }
});
