// The validator against every bundled release: for each command (and each branch of a union), a
// generated valid `arguments` object (its required members, a valid value each) is accepted, and
// mutated ones (an unknown member, a required member left out, a member of the wrong JSON type) are
// rejected with QEMU's error texts. For 7.2 the same texts are compared with the live QEMU by
// test/integration/validator-vs-qemu.test.ts; QEMU 10.0 gives the same texts for the same mistakes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadReleaseSchema, type QapiObjectType, QEMU_RELEASES } from '../../src/schema/index.js';
import { int, numberKind, Values } from '../helpers/schema-values.js';

for (const release of QEMU_RELEASES) {
  test(`QEMU ${release}: generated valid arguments pass, mutated ones fail with QEMU's texts`, () => {
    const schema = loadReleaseSchema(release);
    const val = new Values(schema);
    const problems: string[] = [];
    let accepted = 0;
    let rejected = 0;
    const expect = (command: string, args: Record<string, unknown>, desc: RegExp | undefined, why: string): void => {
      const got = schema.validateArguments(command, args, { numberKind })?.desc;
      if (desc === undefined ? got !== undefined : got === undefined || !desc.test(got))
        problems.push(`${command} ${why}: got ${got ?? 'accepted'}`);
      else if (desc === undefined) accepted++;
      else rejected++;
    };
    for (const c of schema.commands()) {
      if (!c.gen || c.argType === undefined) continue;
      const t = val.t(c.argType) as QapiObjectType;
      for (const variant of t.variants?.map((v) => v.case) ?? [undefined]) {
        const why = variant === undefined ? '' : `(${variant})`;
        const base = val.object(t, variant);
        expect(c.name, base, undefined, `${why} minimal`);
        expect(c.name, { ...base, 'zzz-probe': int(1) }, /^Parameter 'zzz-probe' is unexpected$/, `${why} unknown`);
        for (const m of t.members) {
          if (!m.optional) {
            const { [m.name]: _, ...rest } = base;
            expect(c.name, rest, new RegExp(`^Parameter '${m.name}' is missing$`), `${why} without ${m.name}`);
          }
          if (m.name === t.tag) continue;
          const wrong = val.wrong(m.type);
          if (wrong !== undefined)
            expect(
              c.name,
              { ...base, [m.name]: wrong },
              new RegExp(`^(Invalid parameter type for '${m.name}(\\[0\\])?', expected: |Parameter '${m.name}' )`),
              `${why} ${m.name} of the wrong type`,
            );
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(accepted > 250, `only ${accepted} valid examples`);
    assert.ok(rejected > 1000, `only ${rejected} mutated examples`);
  });
}
