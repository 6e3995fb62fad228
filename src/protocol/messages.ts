import type { JsonObject, JsonValue } from '../wire/json-value.js';

/** QEMU's version triple as in the greeting and `query-version`. */
export interface QmpVersionTriple {
  major: number;
  minor: number;
  micro: number;
}

/** `version` member of the greeting (= `query-version`'s return). */
export interface QmpVersionInfo {
  qemu: QmpVersionTriple;
  /** Distribution package string; `""` for upstream builds. */
  package: string;
}

/** Capabilities that exist in QMP (only `oob` as of QEMU 7.2 and master). */
export type QmpCapability = 'oob' | (string & {});

/** The greeting QEMU sends on connect. */
export interface QmpGreeting {
  QMP: {
    version: QmpVersionInfo;
    capabilities: QmpCapability[];
  };
}

/** A request id: any JSON value (QEMU echoes it as a value, re-serialized). */
export type QmpId = JsonValue;

/** An in-band command request. */
export interface QmpCommand {
  execute: string;
  arguments?: JsonObject;
  id?: QmpId;
}

/** An out-of-band command request (only after `qmp_capabilities {"enable": ["oob"]}`). */
export interface QmpOobCommand {
  'exec-oob': string;
  arguments?: JsonObject;
  id?: QmpId;
}

/** A successful reply. */
export interface QmpReturn<T = JsonValue> {
  return: T;
  id?: QmpId;
}

/** The `error` member of an error reply. */
export interface QmpErrorBody {
  class: string;
  desc: string;
}

/** An error reply. Parse errors and non-object requests have no `id`. */
export interface QmpErrorReply {
  error: QmpErrorBody;
  id?: QmpId;
}

/** QMP event timestamp: host wall-clock time. */
export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/** An asynchronous event. `data` is absent for events without members (STOP, RESUME, ...). */
export interface QmpEvent<D = JsonObject> {
  event: string;
  data?: D;
  timestamp: QmpTimestamp;
}

/** Anything a QMP server sends. */
export type QmpServerMessage = QmpGreeting | QmpReturn | QmpErrorReply | QmpEvent;
/** Anything a QMP client sends. */
export type QmpClientMessage = QmpCommand | QmpOobCommand;
