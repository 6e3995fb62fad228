import type { JsonObject } from '../wire/json-value.js';
import type { QmpErrorReply, QmpEvent, QmpGreeting, QmpReturn, QmpVersionInfo } from './messages.js';

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** True when `v` is a well-formed `version` member (`{qemu: {major, minor, micro}, package}`). */
export function isVersionInfo(v: unknown): v is QmpVersionInfo {
  if (!isJsonObject(v) || typeof v['package'] !== 'string') return false;
  const q = v['qemu'];
  return isJsonObject(q) && isCount(q['major']) && isCount(q['minor']) && isCount(q['micro']);
}

/** True for a QMP greeting with a valid version and capability list. */
export function isGreeting(v: unknown): v is QmpGreeting {
  if (!isJsonObject(v)) return false;
  const qmp = v['QMP'];
  if (!isJsonObject(qmp)) return false;
  const caps = qmp['capabilities'];
  return isVersionInfo(qmp['version']) && Array.isArray(caps) && caps.every((c) => typeof c === 'string');
}

/** True for a success reply (`return` present). */
export function isReturn(v: unknown): v is QmpReturn {
  return isJsonObject(v) && 'return' in v;
}

/** True for an error reply with a string `class` and `desc`. */
export function isErrorReply(v: unknown): v is QmpErrorReply {
  if (!isJsonObject(v)) return false;
  const e = v['error'];
  return isJsonObject(e) && typeof e['class'] === 'string' && typeof e['desc'] === 'string';
}

/** True for an event: a string `event`, a timestamp, and `data` absent or an object. */
export function isEvent(v: unknown): v is QmpEvent {
  if (!isJsonObject(v) || typeof v['event'] !== 'string') return false;
  const ts = v['timestamp'];
  if (!isJsonObject(ts) || typeof ts['seconds'] !== 'number' || typeof ts['microseconds'] !== 'number') return false;
  return v['data'] === undefined || isJsonObject(v['data']);
}
