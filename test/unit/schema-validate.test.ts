import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DEPTH } from '../../src/limits.js';
import { defaultNumberKind, firstUnexpectedKey, loadQemu72Schema } from '../../src/schema/index.js';
import type { QmpServerSchema } from '../../src/server/index.js';

const s = loadQemu72Schema();
const desc = (command: string, args: unknown): string | undefined => s.validateArguments(command, args)?.desc;

test('QEMU texts for missing, mistyped and unexpected arguments (cases seen live on 7.2)', () => {
  assert.equal(desc('query-status', { x: 1 }), "Parameter 'x' is unexpected");
  assert.equal(desc('human-monitor-command', {}), "Parameter 'command-line' is missing");
  assert.equal(desc('eject', { device: 5 }), "Invalid parameter type for 'device', expected: string");
  assert.equal(desc('eject', { device: 'a', force: 1 }), "Invalid parameter type for 'force', expected: boolean");
  assert.equal(
    desc('send-key', { keys: [{ type: 'bogus', data: 'a' }] }),
    "Parameter 'type' does not accept value 'bogus'",
  );
  assert.equal(desc('send-key', { keys: [{ data: 'a' }] }), "Parameter 'keys[0].type' is missing");
  assert.equal(
    desc('send-key', { keys: [{ type: 'qcode', data: 'a' }, 5] }),
    "Invalid parameter type for 'keys[1]', expected: object",
  );
  assert.equal(desc('send-key', { keys: 'a' }), "Invalid parameter type for 'keys', expected: array");
  assert.equal(desc('send-key', { keys: [{ type: 'qcode', data: 'a', x: 1 }] }), "Parameter 'keys[0].x' is unexpected");
  assert.equal(desc('qmp_capabilities', { enable: ['bogus'] }), "Parameter 'null' does not accept value 'bogus'");
  assert.equal(desc('query-status', {}), undefined);
  assert.equal(desc('query-status', undefined), undefined, 'absent arguments are {}');
  assert.equal(desc('query-status', []), "Invalid parameter type for '<anonymous>', expected: object");
});

test('integers: int64, uint64 wrap, narrow widths with C type names, doubles rejected', () => {
  const hold = (v: unknown) => desc('send-key', { keys: [{ type: 'qcode', data: 'a' }], 'hold-time': v });
  assert.equal(hold(3_000_000_000), undefined);
  assert.equal(hold(2n ** 63n - 1n), undefined);
  assert.equal(hold(2n ** 63n), "Invalid parameter type for 'hold-time', expected: integer");
  assert.equal(hold(1.5), "Invalid parameter type for 'hold-time', expected: integer");
  assert.equal(hold(2 ** 70), "Invalid parameter type for 'hold-time', expected: integer", 'past uint64: a double');
  const mig = (k: string, v: unknown) => desc('migrate-set-parameters', { [k]: v });
  assert.equal(mig('compress-level', 255), undefined);
  assert.equal(mig('compress-level', 256), "Parameter 'compress-level' expects uint8_t");
  assert.equal(mig('compress-level', -1), "Parameter 'compress-level' expects uint8_t");
  assert.equal(mig('compress-level', 'x'), "Parameter 'compress-level' expects uint64");
  assert.equal(mig('downtime-limit', -1), undefined, 'negative int64 wraps for uint64');
  assert.equal(mig('downtime-limit', 2n ** 64n - 1n), undefined);
  assert.equal(mig('downtime-limit', 1.0), undefined, 'a JS 1.0 is the integer 1 on the wire');
  assert.equal(mig('announce-initial', 1e30), "Parameter 'announce-initial' expects uint64");
  const blk = (v: unknown) => desc('blockdev-add', { driver: 'blkdebug', image: 'i', 'max-transfer': v });
  assert.equal(blk(2 ** 31 - 1), undefined);
  assert.equal(blk(2 ** 31), "Parameter 'max-transfer' expects int32_t");
  assert.equal(blk(-(2 ** 31)), undefined);
});

test('numberKind lets a server tell 1.0 (double) from 1', () => {
  class N {
    constructor(
      readonly kind: 'int' | 'uint' | 'double',
      readonly value: number | bigint,
    ) {}
  }
  const numberKind = (v: unknown) => (v instanceof N ? { kind: v.kind, value: v.value } : undefined);
  const args = (v: unknown) => ({ keys: [{ type: 'number', data: v }] });
  assert.equal(s.validateArguments('send-key', args(new N('int', 1n)), { numberKind }), undefined);
  assert.equal(
    s.validateArguments('send-key', args(new N('double', 1)), { numberKind })?.desc,
    "Invalid parameter type for 'keys[0].data', expected: integer",
  );
  // With a numberKind, plain JS numbers are not numbers at all (the server never passes them).
  assert.equal(
    s.validateArguments('send-key', args(1), { numberKind })?.desc,
    "Invalid parameter type for 'keys[0].data', expected: integer",
  );
  assert.deepEqual(defaultNumberKind(1.5), { kind: 'double', value: 1.5 });
  assert.deepEqual(defaultNumberKind(2 ** 63), { kind: 'uint', value: 2n ** 63n });
  assert.deepEqual(defaultNumberKind(-5n), { kind: 'int', value: -5n });
  assert.deepEqual(defaultNumberKind(1e21), { kind: 'double', value: 1e21 });
  assert.equal(defaultNumberKind('1'), undefined);
});

test('flat unions, alternates, boxed commands, null-prototype objects', () => {
  assert.equal(desc('blockdev-add', { driver: 'null-co', 'node-name': 'n' }), undefined);
  assert.equal(desc('blockdev-add', { driver: 'bogus' }), "Parameter 'driver' does not accept value 'bogus'");
  assert.equal(desc('blockdev-add', { driver: 'file' }), "Parameter 'filename' is missing");
  assert.equal(desc('blockdev-add', { driver: 'null-co', filename: 'x' }), "Parameter 'filename' is unexpected");
  assert.equal(
    desc('blockdev-add', { driver: 'qcow2', file: 5 }),
    "Invalid parameter type for 'file', expected: BlockdevRef",
  );
  assert.equal(
    desc('blockdev-add', { driver: 'qcow2', file: { driver: 'raw', file: true } }),
    "Invalid parameter type for 'file', expected: BlockdevRef",
    'alternate errors name the member, not the path',
  );
  assert.equal(
    desc('blockdev-add', { driver: 'qcow2', file: { driver: 'raw', file: { driver: 'file' } } }),
    "Parameter 'file.file.filename' is missing",
  );
  assert.equal(desc('blockdev-add', { driver: 'qcow2', file: 'f', backing: null }), undefined);
  assert.equal(
    desc('migrate-set-parameters', { 'tls-creds': 1 }),
    "Invalid parameter type for 'tls-creds', expected: StrOrNull",
  );
  const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, {
    driver: 'null-co',
    'node-name': 'n',
  });
  assert.equal(desc('blockdev-add', nullProto), undefined);
  assert.equal(
    desc('object-add', { 'qom-type': 'memory-backend-ram', id: 'm', size: 'big' }),
    "Parameter 'size' expects uint64",
  );
  assert.equal(desc('no-such-command', {}), 'The command no-such-command has not been found');
});

test('issues carry a path under arguments and a friendly message', () => {
  const i = s.validateArguments('blockdev-add', { driver: 'qcow2', file: { driver: 'bogus' } });
  assert.deepEqual(i?.path, 'arguments.file.driver');
  assert.match(i?.message ?? '', /^arguments\.file\.driver: expected one of "blkdebug", .* but got "bogus"$/);
  const m = s.validateArguments('send-key', { keys: [{ data: 'a' }] });
  assert.equal(m?.path, 'arguments.keys[0].type');
  assert.match(m?.message ?? '', /missing/);
  const v = s.validateValue('str', 5, { path: 'x.y' });
  assert.deepEqual(v, {
    desc: "Invalid parameter type for '<anonymous>', expected: string",
    path: 'x.y',
    message: 'x.y: expected a string but got 5',
  });
  assert.equal(s.validateValue('[int]', [1, 2]), undefined);
  assert.equal(s.validateValue('[int]', [1, 'a'], { path: 'list' })?.path, 'list[1]');
});

test('cyclic and absurdly deep values are reported, not a crash', () => {
  const cyc: Record<string, unknown> = { driver: 'raw' };
  cyc['file'] = cyc;
  assert.deepEqual(s.validateArguments('blockdev-add', cyc)?.path, 'arguments.file');
  assert.equal(s.validateArguments('blockdev-add', cyc)?.desc, 'Value contains itself');
  const deep = (n: number): unknown => {
    let v: unknown = 'base';
    for (let i = 0; i < n; i++) v = { driver: 'raw', file: v };
    return v;
  };
  assert.equal(s.validateArguments('blockdev-add', deep(200)), undefined);
  const issue = s.validateArguments('blockdev-add', deep(MAX_DEPTH + 1));
  assert.ok(issue !== undefined && /nest/.test(issue.desc), issue?.desc);
});

test('firstUnexpectedKey follows QEMU 7.2 hash order, not input order', () => {
  assert.equal(firstUnexpectedKey(['a'], []), 'a');
  assert.equal(firstUnexpectedKey(['a', 'b'], ['a', 'b']), undefined);
  // Both seen on the live QEMU 7.2 (test/integration/validator-vs-qemu.test.ts checks many more).
  assert.equal(firstUnexpectedKey(['b', 'a', 'c'], []), 'b');
  assert.equal(firstUnexpectedKey(['q', 'zz', 'mmm', 'a-b-c', 'id9'], []), 'mmm');
  assert.equal(desc('query-status', { q: 1, zz: 2, mmm: 3, 'a-b-c': 4, id9: 5 }), "Parameter 'mmm' is unexpected");
});

test('QapiSchema fits the server framework and shell contracts', () => {
  const forServer: QmpServerSchema = s;
  assert.equal(forServer.command('migrate-pause')?.allowOob, true);
  assert.equal(
    forServer.validateArguments('eject', { device: 5 }, { numberKind: () => undefined })?.desc,
    "Invalid parameter type for 'device', expected: string",
  );
  assert.equal(s.commandNames().includes('query-status'), true);
  assert.equal(s.allowsOob('yank'), true);
});
