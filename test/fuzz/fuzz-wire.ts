// Fuzz targets for the two decoders, synchronous and fast (a million inputs take about a minute):
// - JsonSplitter/decodeJson (the client's side): never throws, never holds more than its limit,
//   returns what JSON.parse returns for every whole message however the bytes are cut, and the
//   same items for any cut of any input;
// - QemuJsonParser (the server's side): never throws, and gives the same items for any cut.
import assert from 'node:assert/strict';
import { QmpError } from '../../src/errors/index.js';
import { decodeJson, JsonSplitter, QemuJsonParser } from '../../src/wire/index.js';
import { atLimits, type Corpus, mutate, pick, prng, type Rand, randomBytes, randomValue, split } from './fuzz-input.js';

export interface FuzzBudget {
  seed: number;
  maxInputs: number;
  /** Stop starting new inputs after this many ms. */
  maxMs: number;
}

export interface FuzzReport {
  target: string;
  inputs: number;
  bytes: number;
  ms: number;
}

const MAX_MESSAGE_BYTES = 64 * 1024;

function splitterItems(chunks: readonly Buffer[], s: JsonSplitter): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    for (const it of s.push(c))
      out.push(
        'error' in it
          ? `E:${it.error.code}`
          : JSON.stringify(it.value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      );
    assert.ok(s.bufferedBytes <= MAX_MESSAGE_BYTES, `splitter holds ${s.bufferedBytes} bytes`);
  }
  return out;
}

function wireInput(rnd: Rand, corpus: Corpus): { bytes: Buffer; messages?: unknown[] } {
  const r = rnd();
  if (r < 0.3) {
    const messages = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => ({
      return: randomValue(rnd),
      id: Math.floor(rnd() * 100),
    }));
    const pretty = rnd() < 0.3;
    const text = messages.map(
      (m) => `${pretty ? JSON.stringify(m, null, 4) : JSON.stringify(m)}${rnd() < 0.5 ? '\r\n' : '\n'}`,
    );
    return { bytes: Buffer.from(text.join('')), messages };
  }
  if (r < 0.45) {
    const lines = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(rnd, corpus.replies)).join('');
    // JSON.parse is the oracle: it rounds integers past 2^53, which the decoder keeps exact.
    if (/\d{16}/.test(lines)) return { bytes: Buffer.from(lines) };
    return {
      bytes: Buffer.from(lines),
      messages: lines
        .split('\r\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l)),
    };
  }
  if (r < 0.8)
    return {
      bytes: mutate(
        rnd,
        Buffer.from(
          Array.from({ length: 1 + Math.floor(rnd() * 3) }, () =>
            pick(rnd, rnd() < 0.5 ? corpus.replies : corpus.requests),
          ).join(''),
        ),
      ),
    };
  if (r < 0.995) return { bytes: randomBytes(rnd, 300) };
  return { bytes: atLimits(rnd) };
}

/** The client's decoder. Throws an AssertionError naming the run's seed and the input on any violation. */
export function fuzzDecoder(budget: FuzzBudget, corpus: Corpus): FuzzReport {
  const rnd = prng(budget.seed);
  const started = Date.now();
  let inputs = 0;
  let bytes = 0;
  const whole = new JsonSplitter({ maxMessageBytes: MAX_MESSAGE_BYTES });
  const cut = new JsonSplitter({ maxMessageBytes: MAX_MESSAGE_BYTES });
  while (inputs < budget.maxInputs && ((inputs & 255) !== 0 || Date.now() - started < budget.maxMs)) {
    inputs++;
    const { bytes: input, messages } = wireInput(rnd, corpus);
    bytes += input.length;
    const where = `seed ${budget.seed}, input ${inputs}: ${JSON.stringify(input.toString('latin1').slice(0, 300))}`;
    whole.reset();
    cut.reset();
    const a = splitterItems([input], whole);
    const b = splitterItems(split(input, rnd), cut);
    if (messages !== undefined) {
      const want = messages.map((m) => JSON.stringify(m));
      assert.deepEqual(a, want, where);
      assert.deepEqual(b, want, where);
    } else {
      // Malformed input: where a cut ends decides whether an unterminated value is returned at
      // once, so the two runs may differ in length; they never differ in a value both returned
      // before an error (the client ends the session at the first error).
      const upTo = (items: string[]): number => {
        const e = items.findIndex((x) => x.startsWith('E:'));
        return e === -1 ? items.length : e;
      };
      const n = Math.min(upTo(a), upTo(b));
      assert.deepEqual(b.slice(0, n), a.slice(0, n), where);
    }
    const text = input.toString('utf8');
    try {
      decodeJson(text);
    } catch (err) {
      assert.ok(err instanceof QmpError, `${where}: decodeJson threw ${String(err)}`);
    }
  }
  return { target: 'decoder', inputs, bytes, ms: Date.now() - started };
}

function parserItems(chunks: readonly Buffer[], p: QemuJsonParser): unknown[] {
  const out: unknown[] = [];
  for (const c of chunks) out.push(...p.push(c));
  return out;
}

/** QEMU's dialect parser (the server's side). */
export function fuzzParser(budget: FuzzBudget, corpus: Corpus): FuzzReport {
  const rnd = prng(budget.seed);
  const started = Date.now();
  let inputs = 0;
  let bytes = 0;
  const whole = new QemuJsonParser();
  const cut = new QemuJsonParser();
  const small = new QemuJsonParser({ maxTokenBytes: 256, maxTokens: 64, maxDepth: 8 });
  while (inputs < budget.maxInputs && ((inputs & 255) !== 0 || Date.now() - started < budget.maxMs)) {
    inputs++;
    const r = rnd();
    const input =
      r < 0.55
        ? mutate(
            rnd,
            Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(rnd, corpus.requests)).join('')),
          )
        : r < 0.995
          ? randomBytes(rnd, 300)
          : atLimits(rnd);
    bytes += input.length;
    const where = `seed ${budget.seed}, input ${inputs}: ${JSON.stringify(input.toString('latin1').slice(0, 300))}`;
    // Each input starts from QEMU's known-good state: the parsers are reset, not fed a sync byte.
    whole.reset();
    cut.reset();
    small.reset();
    const a = parserItems([input], whole);
    const b = parserItems(split(input, rnd), cut);
    assert.deepEqual(b, a, where);
    parserItems(split(input, rnd), small);
  }
  return { target: 'parser', inputs, bytes, ms: Date.now() - started };
}
