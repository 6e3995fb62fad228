// The simulator as each bundled QEMU release: the greeting, query-version, query-qmp-schema and
// query-commands as that QEMU sends them (the 10.0 bytes below were read from a real QEMU 10.0.2),
// commands the release lacks refused with QEMU's CommandNotFound, arguments checked against that
// release's schema, and the modelled commands working on every release.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError, QmpUsageError } from '../../src/errors/index.js';
import { loadReleaseIntrospection, QEMU_RELEASES, type QemuRelease } from '../../src/schema/index.js';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { qmpkit } from '../cli/helpers/run-cli.js';

const QEMU_10_0_GREETING =
  '{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1"}, "capabilities": ["oob"]}}';
const QEMU_10_0_VERSION =
  '{"return": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1"}}';
const QEMU_10_0_SCHEMA_START =
  '{"return": [{"name": "query-status", "ret-type": "1", "meta-type": "command", "arg-type": "0"}, {"name": "SHUTDOWN", "meta-type": "event", "arg-type": "2"}, ';
const QEMU_10_0_COMMANDS_START =
  '{"return": [{"name": "device_add"}, {"name": "cxl-release-dynamic-capacity"}, {"name": "cxl-add-dynamic-capacity"}, {"name": "cxl-inject-correctable-error"}, ';

/** Sends `lines` on a raw connection and resolves with the first `count` lines QEMU-style (CRLF) that come back. */
function rawSession(path: string, lines: readonly string[], count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`only ${buf.split('\r\n').length - 1} of ${count} lines in time`));
    }, 30_000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const got = buf.split('\r\n');
      if (got.length - 1 >= count) {
        clearTimeout(timer);
        s.destroy();
        resolve(got.slice(0, count));
      }
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.write(lines.map((l) => `${l}\n`).join(''));
  });
}

async function refusal(qmp: QmpClient, command: string, args: Record<string, unknown> = {}): Promise<string> {
  const err = await qmp.executeRaw(command, args as never).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof QmpCommandError, `${command} was accepted`);
  return `${err.errorClass}: ${err.desc}`;
}

describe('the simulator as any bundled release', { concurrency: false }, () => {
  let dir = '';
  const sims: QmpSimulator[] = [];
  const start = async (qemuVersion: QemuRelease | undefined, name: string): Promise<string> => {
    const sock = join(dir, `${name}.sock`);
    sims.push(
      await startSimulator({
        qmp: [`unix:${sock},server=on,wait=off`],
        stderr: process.stderr,
        ...(qemuVersion === undefined ? {} : { qemuVersion }),
      }),
    );
    return sock;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'qmpkit-simrel-'));
  });
  after(async () => {
    for (const s of sims) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('10.0: greeting, query-version, query-qmp-schema and query-commands as QEMU 10.0.2 sends them', async () => {
    const sock = await start('10.0', 'bytes');
    const [greeting, caps, version, schema, commands] = await rawSession(
      sock,
      [
        '{"execute": "qmp_capabilities"}',
        '{"execute": "query-version"}',
        '{"execute": "query-qmp-schema"}',
        '{"execute": "query-commands"}',
      ],
      5,
    );
    assert.equal(greeting, QEMU_10_0_GREETING);
    assert.equal(caps, '{"return": {}}');
    assert.equal(version, QEMU_10_0_VERSION);
    assert.ok(schema?.startsWith(QEMU_10_0_SCHEMA_START), schema?.slice(0, 200));
    assert.deepEqual((JSON.parse(schema ?? '') as { return: unknown }).return, loadReleaseIntrospection('10.0'));
    assert.ok(commands?.startsWith(QEMU_10_0_COMMANDS_START), commands?.slice(0, 200));
    const names = (JSON.parse(commands ?? '') as { return: { name: string }[] }).return.map((c) => c.name);
    const inSchema = loadReleaseIntrospection('10.0')
      .filter((e) => (e as { 'meta-type': string })['meta-type'] === 'command')
      .map((e) => (e as { name: string }).name);
    assert.equal(names.length, 233);
    assert.deepEqual([...names].sort(), [...inSchema].sort());
  });

  test('7.2 (the default): query-qmp-schema and query-commands are the recorded replies, byte for byte', async () => {
    const sock = await start(undefined, 'bytes72');
    const [, , schema, commands] = await rawSession(
      sock,
      ['{"execute": "qmp_capabilities"}', '{"execute": "query-qmp-schema"}', '{"execute": "query-commands"}'],
      4,
    );
    const data = (file: string): string =>
      readFileSync(new URL(`../../../data/${file}`, import.meta.url), 'utf8').trim();
    assert.equal(schema, data('qmp-schema-7.2.json'));
    assert.equal(commands, data('query-commands-7.2.json'));
  });

  test('commands, arguments and results follow the release: 7.2 against 10.0', async () => {
    const q72 = await QmpClient.connect(await start(undefined, 'r72'));
    const q10 = await QmpClient.connect(await start('10.0', 'r10'));
    try {
      // x-query-rdma: in 7.2, gone by 9.2 (not modelled: 7.2 says so).
      assert.equal(await refusal(q10, 'x-query-rdma'), 'CommandNotFound: The command x-query-rdma has not been found');
      assert.equal(
        await refusal(q72, 'x-query-rdma'),
        'GenericError: The simulated QEMU (qmpkit sim) does not implement x-query-rdma',
      );
      // query-audiodevs: added by 8.2.
      assert.equal(
        await refusal(q72, 'query-audiodevs'),
        'CommandNotFound: The command query-audiodevs has not been found',
      );
      assert.equal(
        await refusal(q10, 'query-audiodevs'),
        'GenericError: The simulated QEMU (qmpkit sim) does not implement query-audiodevs',
      );
      // query-machines' compat-props argument: added by 9.2.
      assert.equal(
        await refusal(q72, 'query-machines', { 'compat-props': true }),
        "GenericError: Parameter 'compat-props' is unexpected",
      );
      const machines = await q10.executeRaw('query-machines', { 'compat-props': true });
      assert.ok(Array.isArray(machines) && machines.length > 0);
      assert.equal(
        await refusal(q10, 'query-machines', { 'compat-props': 1 }),
        "GenericError: Invalid parameter type for 'compat-props', expected: boolean",
      );
      // query-status lost `singlestep` by 9.2.
      assert.deepEqual(await q72.executeRaw('query-status', {}), {
        status: 'running',
        singlestep: false,
        running: true,
      });
      assert.deepEqual(await q10.executeRaw('query-status', {}), { status: 'running', running: true });
    } finally {
      await q72.close();
      await q10.close();
    }
  });

  for (const release of QEMU_RELEASES) {
    test(`${release}: greets with its version; modelled commands work`, async () => {
      const qmp = await QmpClient.connect(await start(release, `each-${release}`));
      try {
        const v = qmp.greeting.QMP.version.qemu;
        assert.equal(`${v.major}.${v.minor}`, release === '10.2' ? '10.1' : release);
        assert.deepEqual(qmp.greeting.QMP.capabilities, ['oob']);
        assert.deepEqual(await qmp.executeRaw('query-version', {}), qmp.greeting.QMP.version);
        await qmp.executeRaw('stop', {});
        assert.equal(((await qmp.executeRaw('query-status', {})) as { status: string }).status, 'paused');
        await qmp.executeRaw('cont', {});
        await qmp.executeRaw('eject', { device: 'ide1-cd0', force: true });
        const block = (await qmp.executeRaw('query-block', {})) as { device: string; tray_open?: boolean }[];
        assert.equal(block[0]?.tray_open, true);
        assert.deepEqual(await qmp.executeRaw('blockdev-add', { driver: 'null-co', 'node-name': 'n0' }), {});
        assert.equal(
          await refusal(qmp, 'no-such-command'),
          'CommandNotFound: The command no-such-command has not been found',
        );
      } finally {
        await qmp.close();
      }
    });
  }

  test('an unknown release is a usage error naming the bundled ones (API and qmpkit sim)', async () => {
    await assert.rejects(
      startSimulator({ qemuVersion: '6.1' as QemuRelease, qmp: [] }),
      (e: unknown) => e instanceof QmpUsageError && /'6\.1'.*7\.2, 8\.2, 9\.2, 10\.0, 10\.2/.test(e.message),
    );
    const r = await qmpkit(['sim', '--qemu-version', '6.1', '-qmp', 'stdio']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'qmpkit sim: --qemu-version 6.1: not a bundled release (the simulator plays 6.2, 7.2, 8.2, 9.2, 10.0, 10.2)\n',
    );
  });

  test('qmpkit start --qemu-version 10.0 (npm start): the shell on the simulated 10.0', async () => {
    const r = await qmpkit(['start', '--qemu-version', '10.0'], { input: 'query-version\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Connected to QEMU 10\.0\.2\n/);
    assert.match(r.stdout, /\{"return": \{"qemu": \{"micro": 2, "minor": 0, "major": 10\}, "package": "Debian /);
    const bad = await qmpkit(['start', '--qemu-version', '6.1']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--qemu-version 6\.1: not a bundled release/);
  });

  test('qmpkit sim --qemu-version 9.2 on stdio', async () => {
    const r = await qmpkit(['sim', '--qemu-version', '9.2', '-qmp', 'stdio'], {
      input: '{"execute": "qmp_capabilities"}\n{"execute": "query-version"}\n{"execute": "quit"}\n',
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\r\n');
    assert.equal(
      lines[0],
      '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 9}, "package": "v9.2.0"}, "capabilities": ["oob"]}}',
    );
    assert.equal(lines[2], '{"return": {"qemu": {"micro": 0, "minor": 2, "major": 9}, "package": "v9.2.0"}}');
  });
});
