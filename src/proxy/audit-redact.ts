import { AUDIT_MAX_ARGUMENT_CHARS, AUDIT_MAX_STRING_CHARS } from '../limits.js';
import { QNum, type QValue } from '../wire/index.js';

/** A command's arguments as an audit record keeps them: plain JSON, capped and redacted. */
export type QmpAuditValue = null | boolean | number | string | QmpAuditValue[] | { [member: string]: QmpAuditValue };

/** Caps of {@link auditArguments}. */
export interface QmpAuditCaps {
  /** Characters kept of one string (default {@link AUDIT_MAX_STRING_CHARS}). */
  maxStringChars?: number;
  /** Characters of the whole value as JSON, roughly (default {@link AUDIT_MAX_ARGUMENT_CHARS}). */
  maxArgumentChars?: number;
}

/** What stands in for a secret. */
export const REDACTED = '<redacted>';

// Members whose value is a secret wherever they appear (set_password, object-add secret's `data`
// is handled with its qom-type; `key-secret`/`new-secret` only name a secret object and are kept).
const SECRET_MEMBERS = new Set(['password', 'passphrase', 'secret', 'key']);

function isSecretObject(m: ReadonlyMap<string, QValue>): boolean {
  const type = m.get('qom-type');
  return type === 'secret' || type === 'secret_keyring';
}

/** HMP's `set_password` and `change vnc password` carry a password in the command line. */
function redactHmp(line: string): string {
  const words = line.trim().split(/\s+/);
  if (words[0] === 'set_password' || (words[0] === 'change' && words[1] === 'vnc' && words.length > 2))
    return `${words.slice(0, words[0] === 'change' ? 2 : 1).join(' ')} ${REDACTED}`;
  return line;
}

class Budget {
  left: number;
  constructor(chars: number) {
    this.left = chars;
  }
}

function convert(v: QValue, caps: Required<QmpAuditCaps>, budget: Budget): QmpAuditValue {
  if (v === null || typeof v === 'boolean') {
    budget.left -= 5;
    return v;
  }
  if (typeof v === 'string') {
    const s = v.length > caps.maxStringChars ? `${v.slice(0, caps.maxStringChars)}…(${v.length} chars)` : v;
    budget.left -= s.length + 2;
    return s;
  }
  if (v instanceof QNum) {
    const n = v.toJs();
    budget.left -= 20;
    return typeof n === 'bigint' ? n.toString() : n;
  }
  if (Array.isArray(v)) {
    const out: QmpAuditValue[] = [];
    for (let i = 0; i < v.length; i++) {
      if (budget.left <= 0) {
        out.push(`…(${v.length - i} more)`);
        break;
      }
      out.push(convert(v[i] as QValue, caps, budget));
    }
    return out;
  }
  const out: { [member: string]: QmpAuditValue } = {};
  const secretObject = isSecretObject(v);
  let i = 0;
  for (const [key, member] of v) {
    if (budget.left <= 0) {
      out['…'] = `${v.size - i} more member(s)`;
      break;
    }
    i++;
    budget.left -= key.length + 4;
    out[key] = SECRET_MEMBERS.has(key) || (secretObject && key === 'data') ? REDACTED : convert(member, caps, budget);
  }
  return out;
}

/**
 * A command's arguments for the audit log: one JSON value, strings cut at `maxStringChars` (their
 * length noted), the whole cut at about `maxArgumentChars`, and secrets (`password`, `passphrase`,
 * `secret`, `key`, a `secret` object's `data`, a password in an HMP command line) redacted.
 */
export function auditArguments(
  command: string,
  args: ReadonlyMap<string, QValue>,
  caps: QmpAuditCaps = {},
): QmpAuditValue {
  const full: Required<QmpAuditCaps> = {
    maxStringChars: caps.maxStringChars ?? AUDIT_MAX_STRING_CHARS,
    maxArgumentChars: caps.maxArgumentChars ?? AUDIT_MAX_ARGUMENT_CHARS,
  };
  let value = args;
  const line = args.get('command-line');
  if (command === 'human-monitor-command' && typeof line === 'string') {
    value = new Map(args);
    (value as Map<string, QValue>).set('command-line', redactHmp(line));
  }
  return convert(value as Map<string, QValue>, full, new Budget(full.maxArgumentChars));
}
