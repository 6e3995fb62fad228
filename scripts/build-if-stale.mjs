// `npm start` builds only when the compiled CLI is missing or older than a source file, and then only
// src/ without type-checking (`npm run build` and `npm test` check everything), so the prompt comes
// quickly both from a fresh clone and when nothing changed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const entry = 'dist/src/cli/qmpkit.js';

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
  }
  return t;
}

const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
const sources = Math.max(newest('src'), ...['tsconfig.json', 'tsconfig.src.json'].map((f) => statSync(f).mtimeMs));
if (built < sources) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  process.stderr.write(built === 0 ? 'Building qmpkit...\n' : 'Sources changed: rebuilding...\n');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.src.json', '--noCheck'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
