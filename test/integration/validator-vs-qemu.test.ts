// The schema validator against real QEMU 7.2: every case goes to QEMU and to QapiSchema, and both must
// give the same answer (the same desc when invalid). Valid cases carry one extra member 'zzz-probe',
// so QEMU answers "Parameter 'zzz-probe' is unexpected" after checking everything else: that proves it
// accepted the rest without running the command. Also re-measures the 7.2 hints table (integer
// widths, alternate names) on the live binary; QMPKIT_WRITE_HINTS=file writes what it measured.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import {
  loadQemu72Introspection,
  loadQemu72Schema,
  type QapiObjectType,
  QapiSchema,
  QEMU_7_2_HINTS,
} from '../../src/schema/index.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';
import { dbl, int, Num, numberKind, Values } from '../helpers/schema-values.js';

function toText(v: unknown): string {
  if (v instanceof Num) return v.text;
  if (Array.isArray(v)) return `[${v.map(toText).join(', ')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}: ${toText(x)}`)
      .join(', ')}}`;
  return JSON.stringify(v);
}

/** A QMP connection that sends one request at a time and reads line-per-message replies. */
class LineQmp {
  #buf = '';
  #waiters: ((line: string) => void)[] = [];
  #lines: string[] = [];
  constructor(readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.#buf += d;
      for (let i = this.#buf.indexOf('\n'); i >= 0; i = this.#buf.indexOf('\n')) {
        const line = this.#buf.slice(0, i).trim();
        this.#buf = this.#buf.slice(i + 1);
        if (line === '' || line.includes('"event"')) continue;
        const w = this.#waiters.shift();
        if (w) w(line);
        else this.#lines.push(line);
      }
    });
  }
  static async open(path: string): Promise<LineQmp> {
    const sock = connect(path);
    await new Promise<void>((res, rej) => {
      sock.once('connect', res);
      sock.once('error', rej);
    });
    const q = new LineQmp(sock);
    await q.next();
    assert.deepEqual(JSON.parse(await q.send('{"execute": "qmp_capabilities"}')), { return: {} });
    return q;
  }
  next(): Promise<string> {
    const l = this.#lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error('QEMU did not answer within 10 s')), 10_000);
      this.#waiters.push((line) => {
        clearTimeout(timer);
        res(line);
      });
    });
  }
  send(text: string): Promise<string> {
    this.sock.write(`${text}\n`);
    return this.next();
  }
  /** QEMU's error desc for the command, or `undefined` when it succeeded. */
  async execute(command: string, args: unknown): Promise<string | undefined> {
    const reply = JSON.parse(
      await this.send(`{"execute": ${JSON.stringify(command)}, "arguments": ${toText(args)}}`),
    ) as { error?: { desc: string } };
    return reply.error?.desc;
  }
  close(): void {
    this.sock.destroy();
  }
}

const PROBE = 'zzz-probe';

interface Case {
  command: string;
  args: Record<string, unknown>;
  why: string;
}

/** Generated cases for every command: valid minimal, wrong types, missing members, extra members, int ranges. */
function generatedCases(schema: QapiSchema): Case[] {
  const val = new Values(schema);
  const cases: Case[] = [];
  for (const c of schema.commands()) {
    if (!c.gen || c.argType === undefined) continue;
    const t = val.t(c.argType) as QapiObjectType;
    const variants = t.variants?.map((v) => v.case) ?? [undefined];
    for (const variant of variants) {
      const base = val.object(t, variant);
      const label = `${c.name}${variant === undefined ? '' : `(${variant})`}`;
      cases.push({ command: c.name, args: { ...base, [PROBE]: int(1) }, why: `${label} minimal` });
      const branch =
        variant === undefined
          ? undefined
          : (val.t(t.variants!.find((v) => v.case === variant)!.type) as QapiObjectType);
      const members = [...t.members, ...(branch?.members ?? [])];
      const full: Record<string, unknown> = { ...base };
      for (const m of members) if (!(m.name in full)) full[m.name] = val.minimal(m.type);
      cases.push({ command: c.name, args: { ...full, [PROBE]: int(1) }, why: `${label} all members` });
      for (const m of members) {
        if (m.name === t.tag) {
          cases.push({ command: c.name, args: { ...base, [m.name]: 'no-such-value' }, why: `${label} bad tag` });
          continue;
        }
        const wrong = val.wrong(m.type);
        if (wrong !== undefined)
          cases.push({ command: c.name, args: { ...full, [m.name]: wrong }, why: `${label} ${m.name} wrong type` });
        if (!m.optional) {
          const { [m.name]: _, ...rest } = full;
          cases.push({ command: c.name, args: rest, why: `${label} ${m.name} missing` });
        }
        const mt = val.t(m.type);
        if (mt.metaType === 'builtin' && mt.jsonType === 'int') {
          for (const n of [-129n, -1n, 256n, 65536n, 2n ** 31n, 2n ** 32n, 2n ** 63n, -(2n ** 63n)])
            cases.push({
              command: c.name,
              args: { ...full, [m.name]: int(n), [PROBE]: int(1) },
              why: `${label} ${m.name}=${n}`,
            });
          cases.push({ command: c.name, args: { ...full, [m.name]: dbl('1.0') }, why: `${label} ${m.name}=1.0` });
        }
        if (mt.metaType === 'enum')
          cases.push({ command: c.name, args: { ...full, [m.name]: 'bogus' }, why: `${label} ${m.name} bad enum` });
      }
      if (variant === variants[0]) {
        cases.push({ command: c.name, args: { ...full, 'x-a': int(1), 'b-y': int(2) }, why: `${c.name} two extra` });
        cases.push({
          command: c.name,
          args: { q: int(1), ...full, zz: int(2), mmm: int(3), 'a-b-c': int(4), id9: int(5) },
          why: `${c.name} five extra`,
        });
      }
    }
  }
  return cases;
}

/** Hand-written cases: nesting, lists, alternates, numbers at the edges, unions in depth. */
function handCases(): Case[] {
  const c = (command: string, args: Record<string, unknown>, why: string): Case => ({ command, args, why });
  const key = (type: string, data: unknown) => ({ type, data });
  return [
    c('send-key', { keys: [key('qcode', 'a'), int(5)] }, 'list element not an object'),
    c('send-key', { keys: [key('qcode', 'a'), { data: 'b' }] }, 'nested missing'),
    c('send-key', { keys: [key('qcode', 'a'), key('number', 'b')] }, 'nested wrong type'),
    c('send-key', { keys: [key('qcode', 'bogus')] }, 'nested bad enum'),
    c('send-key', { keys: [key('qcode', 'a')], 'hold-time': int(2n ** 63n) }, 'int beyond int64'),
    c('send-key', { keys: [key('qcode', 'a')], 'hold-time': dbl('1e3') }, 'int as float'),
    c('send-key', { keys: [{ ...key('qcode', 'a'), extra: int(1) }] }, 'nested unexpected'),
    c('send-key', { keys: 'a' }, 'list expected'),
    c('send-key', { keys: [key('number', int(-5))], [PROBE]: int(1) }, 'valid list'),
    c('qmp_capabilities', { enable: ['bogus'] }, 'enum in list'),
    c('qmp_capabilities', { enable: 'oob' }, 'list of enum expected'),
    c('eject', { device: int(5) }, 'str expected'),
    c('eject', { device: 'cd0', force: 'yes' }, 'bool expected'),
    c('eject', { device: null }, 'null is not absent'),
    c('blockdev-add', { driver: 'qcow2', 'node-name': 'x', file: int(5) }, 'alternate mismatch'),
    c('blockdev-add', { driver: 'qcow2', 'node-name': 'x', file: { driver: 'raw', file: int(5) } }, 'nested alternate'),
    c('blockdev-add', { driver: 'qcow2', 'node-name': 'x', file: { driver: 'nope' } }, 'alternate object branch'),
    c('blockdev-add', { driver: 'qcow2', file: 'f', backing: null, [PROBE]: int(1) }, 'alternate null branch'),
    c('blockdev-add', { driver: 'qcow2', file: 'f', backing: true }, 'alternate bool'),
    c('blockdev-add', { driver: 'file', filename: 'f', cache: { direct: 'x' } }, 'nested struct member'),
    c('blockdev-add', { driver: 'file', filename: 'f', cache: { bogus: true } }, 'nested struct extra'),
    c('blockdev-add', { driver: 'qcow2', file: 'f', 'l2-cache-size': int(-1), [PROBE]: int(1) }, 'size wraps'),
    c('blockdev-add', { driver: 'qcow2', file: 'f', 'l2-cache-size': dbl('1.0') }, 'size as float'),
    c(
      'blockdev-add',
      { driver: 'qcow2', file: 'f', 'l2-cache-size': int(2n ** 64n - 1n), [PROBE]: int(1) },
      'uint64 max',
    ),
    c('blockdev-add', { driver: 'qcow2', file: 'f', 'l2-cache-size': dbl('18446744073709551616') }, 'past uint64'),
    c('blockdev-add', { driver: 'qcow2', file: 'f', encrypt: { format: 'luks' }, [PROBE]: int(1) }, 'union in union'),
    c(
      'blockdev-add',
      { driver: 'qcow2', file: 'f', encrypt: { format: 'luks', 'key-secret': int(1) } },
      'union in union member',
    ),
    c(
      'blockdev-add',
      { driver: 'qcow2', file: 'f', 'overlap-check': { template: 'bogus' } },
      'alternate enum in object',
    ),
    c('blockdev-add', { driver: 'qcow2', file: 'f', 'overlap-check': 'bogus' }, 'alternate enum branch'),
    c('blockdev-add', { driver: 'qcow2', file: 'f', 'overlap-check': int(3) }, 'alternate no number branch'),
    c('migrate-set-parameters', { 'compress-level': int(300) }, 'uint8 range'),
    c('migrate-set-parameters', { 'compress-level': int(-1) }, 'uint8 negative'),
    c('migrate-set-parameters', { 'compress-level': 'x' }, 'uint8 string'),
    c('migrate-set-parameters', { 'downtime-limit': int(-1), [PROBE]: int(1) }, 'uint64 negative wraps'),
    c('migrate-set-parameters', { 'tls-creds': null, [PROBE]: int(1) }, 'StrOrNull null'),
    c('migrate-set-parameters', { 'tls-creds': int(1) }, 'StrOrNull number'),
    c('migrate-set-parameters', { 'announce-initial': dbl('1e30') }, 'size from huge float'),
    c('human-monitor-command', {}, 'missing'),
    c('human-monitor-command', { 'command-line': 'info status', 'cpu-index': 'x' }, 'int expected'),
    c('query-status', { x: int(1) }, 'no arguments'),
    c('query-status', { b: int(1), a: int(2), c: int(3) }, 'three unexpected'),
    c('object-add', { 'qom-type': 'memory-backend-ram', id: 'm', size: 'big' }, 'boxed union member'),
    c('object-add', { 'qom-type': 'nope', id: 'm' }, 'boxed union tag'),
    c(
      'object-add',
      { 'qom-type': 'memory-backend-ram', id: 'm', size: int(1), 'host-nodes': [int(70000)] },
      'uint16 list',
    ),
    c('netdev_add', { type: 'user', id: 'n', hostfwd: [{ str: int(1) }] }, 'boxed list of struct'),
    c(
      'transaction',
      {
        actions: [
          { type: 'abort', data: {} },
          { type: 'bogus', data: {} },
        ],
      },
      'union in list',
    ),
    c('transaction', { actions: [{ type: 'block-dirty-bitmap-add', data: { node: 'n' } }] }, 'union branch data'),
    c('block-dirty-bitmap-merge', { node: 'n', target: 't', bitmaps: ['a', { node: 'n' }] }, 'alternate in list'),
    c('block-dirty-bitmap-merge', { node: 'n', target: 't', bitmaps: [int(1)] }, 'alternate in list mismatch'),
    c('set-numa-node', { type: 'dist', src: int(70000), dst: int(1), val: int(1) }, 'uint16 range'),
    c('trace-event-set-state', { name: 'x', enable: true, vcpu: int(-1), [PROBE]: int(1) }, 'vcpu int'),
    c('query-stats', { target: 'vm', providers: [{ provider: 'kvm', names: ['a', int(1)] }] }, 'list of str in union'),
  ];
}

test('the 7.2 hints table (integer widths, alternate names) matches live QEMU 7.2', async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu();
  const qmp = await LineQmp.open(q.socketPath);
  try {
    const schema = QapiSchema.fromIntrospection(loadQemu72Introspection());
    const val = new Values(schema);
    const measured: Record<string, { name?: string; members?: Record<string, string> }> = {};
    const done = new Set<string>();
    // Walk the argument types breadth-first, building a valid path to each integer member.
    type Step = { ref: string; command: string; wrap: (inner: unknown) => unknown };
    const queue: Step[] = schema
      .commands()
      .filter((c) => c.gen && c.argType !== undefined)
      .map((c) => ({ ref: c.argType!, command: c.name, wrap: (x: unknown) => x }));
    for (let i = 0; i < queue.length; i++) {
      const step = queue[i]!;
      const command = step.command;
      const t = schema.type(step.ref)!;
      if (done.has(step.ref)) continue;
      done.add(step.ref);
      const push = (ref: string, wrap: Step['wrap']): void => {
        queue.push({ ref, command, wrap });
      };
      if (t.metaType === 'alternate') {
        const wrong = val.wrong(step.ref);
        const desc = await qmp.execute(command, step.wrap(wrong));
        const m = /expected: (\S+)$/.exec(desc ?? '');
        assert.ok(m, `${command}: no alternate error for ${schema.typeName(step.ref)}: ${desc}`);
        measured[schema.typeName(step.ref)] = { ...measured[schema.typeName(step.ref)], name: m[1]! };
        for (const b of t.members) push(b.type, step.wrap);
        continue;
      }
      if (t.metaType === 'array') {
        push(t.elementType, (x) => step.wrap([x]));
        continue;
      }
      if (t.metaType !== 'object') continue;
      const branches = t.variants?.map((v) => v.case) ?? [undefined];
      for (const variant of branches) {
        const base = val.object(t, variant);
        const branch =
          variant === undefined
            ? undefined
            : (schema.type(t.variants!.find((v) => v.case === variant)!.type) as QapiObjectType);
        const members =
          variant === undefined || variant === branches[0]
            ? [...t.members, ...(branch?.members ?? [])]
            : (branch?.members ?? []);
        const owner = (m: QapiObjectType['members'][number]): string =>
          t.members.includes(m) ? schema.typeName(t.name) : schema.typeName(branch!.name);
        for (const m of members) {
          const mt = schema.type(m.type)!;
          const elementInt =
            mt.metaType === 'array' && schema.type(mt.elementType)?.metaType === 'builtin' && mt.elementType === 'int';
          if (mt.metaType === 'builtin' && mt.jsonType === 'int') {
            const width = await probeInt(qmp, command, (x) => step.wrap({ ...base, [m.name]: x, [PROBE]: int(1) }));
            if (width !== 'int') {
              const key = owner(m);
              measured[key] = { ...measured[key], members: { ...measured[key]?.members, [m.name]: width } };
            }
          } else if (elementInt) {
            const width = await probeInt(qmp, command, (x) => step.wrap({ ...base, [m.name]: [x], [PROBE]: int(1) }));
            if (width !== 'int') {
              const key = owner(m);
              measured[key] = { ...measured[key], members: { ...measured[key]?.members, [m.name]: `[${width}]` } };
            }
          } else {
            push(m.type, (x) => step.wrap({ ...base, [m.name]: x }));
          }
        }
      }
    }
    if (process.env['QMPKIT_WRITE_HINTS'])
      writeFileSync(process.env['QMPKIT_WRITE_HINTS'], JSON.stringify(measured, null, 2));
    assert.deepEqual(normalize(measured), normalize(QEMU_7_2_HINTS.types ?? {}));
  } finally {
    qmp.close();
    await q.stop();
  }
});

function normalize(x: object): unknown {
  return JSON.parse(
    JSON.stringify(x, (_k, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v,
    ),
  );
}

/** The exact integer type of a member, from QEMU's errors for a string and for an out-of-range value. */
async function probeInt(qmp: LineQmp, command: string, at: (x: unknown) => unknown): Promise<string> {
  const asString = await qmp.execute(command, at('x'));
  if (asString?.startsWith('Invalid parameter type') && asString.endsWith('expected: integer')) {
    const big = await qmp.execute(command, at(int(2n ** 62n)));
    const m = /expects (int8|int16|int32)_t$/.exec(big ?? '');
    return m ? m[1]! : 'int';
  }
  if (asString?.endsWith('expects uint64')) {
    const neg = await qmp.execute(command, at(int(-1)));
    const m = /expects (uint8|uint16|uint32)_t$/.exec(neg ?? '');
    return m ? m[1]! : 'uint64';
  }
  throw new Error(`${command}: probe did not reach the member: ${asString}`);
}

test('QapiSchema accepts exactly what QEMU 7.2 accepts, with the same error texts', async (t) => {
  if (!requireQemu(t)) return;
  const schema = loadQemu72Schema();
  const cases = [...handCases(), ...generatedCases(schema)];
  const q = await startQemu();
  const qmp = await LineQmp.open(q.socketPath);
  const mismatches: string[] = [];
  const commands = new Set<string>();
  let invalid = 0;
  try {
    for (const c of cases) {
      const ours = schema.validateArguments(c.command, c.args, { numberKind })?.desc;
      const theirs = await qmp.execute(c.command, c.args);
      commands.add(c.command);
      if (ours !== undefined && ours !== `Parameter '${PROBE}' is unexpected`) invalid++;
      if (ours !== theirs)
        mismatches.push(`${c.command} ${toText(c.args)} (${c.why}):\n    qemu: ${theirs}\n    ours: ${ours}`);
    }
  } finally {
    qmp.close();
    await q.stop();
  }
  assert.ok(commands.size >= 20, `only ${commands.size} commands`);
  assert.ok(invalid > 500, `only ${invalid} invalid cases`);
  assert.deepEqual(mismatches.slice(0, 30), [], `${mismatches.length} of ${cases.length} cases differ`);
});
