// The long fuzz run: `npm run fuzz [-- --inputs N --minutes M --seed S]`. Runs the decoder and parser
// targets for N inputs each (default 1,000,000 in all), then the server, proxy and QEMU-differential
// targets (the last needs qemu-system-x86_64) for the rest of the time budget, then prints one JSON line per target (inputs, bytes, ms, inputs/s) and the
// process's peak RSS. Exits non-zero on the first crash, hang, bound or policy violation, printing the
// seed and input that caused it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const seed = opt('seed', 20_261_129);
const inputs = opt('inputs', 1_000_000);
const budgetMs = opt('minutes', 30) * 60_000;
const dist = join(dirname(fileURLToPath(import.meta.url)), '../dist/test/fuzz');
const { loadCorpus } = await import(join(dist, 'fuzz-input.js'));
const { fuzzDecoder, fuzzParser } = await import(join(dist, 'fuzz-wire.js'));
const { fuzzServer, fuzzProxy } = await import(join(dist, 'fuzz-sessions.js'));
const { fuzzAgainstQemu } = await import(join(dist, 'fuzz-qemu.js'));
const corpus = loadCorpus();
const started = Date.now();
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 500);
const print = (r) => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  console.log(JSON.stringify({ ...r, seed, inputs_per_s: Math.round((r.inputs * 1000) / Math.max(r.ms, 1)) }));
};
const left = () => Math.max(budgetMs - (Date.now() - started), 1000);
try {
  // Split the wire budget: the synchronous targets get their inputs, half the time at most.
  print(fuzzDecoder({ seed, maxInputs: Math.ceil(inputs / 2), maxMs: left() / 4 }, corpus));
  print(fuzzParser({ seed, maxInputs: Math.ceil(inputs / 2), maxMs: left() / 3 }, corpus));
  print(await fuzzServer({ seed, maxInputs: Number.MAX_SAFE_INTEGER, maxMs: left() / 2 }, corpus));
  print(await fuzzProxy({ seed, maxInputs: Number.MAX_SAFE_INTEGER, maxMs: left() / 2 }, corpus));
  print(await fuzzAgainstQemu({ seed, maxInputs: Number.MAX_SAFE_INTEGER, maxMs: left() }, corpus));
} finally {
  clearInterval(sampler);
}
console.log(JSON.stringify({ total_ms: Date.now() - started, peak_rss_bytes: peakRss }));
