// Device properties as QEMU 7.2 declares them (recorded `device-list-properties` replies in
// data/device-properties-7.2.json, read on first use): which properties a model has, what
// `device-list-properties` answers, and QEMU's parsing of the values the simulator looks at.
import { readFileSync } from 'node:fs';
import { QmpCommandError } from '../errors/qmp-command-error.js';

/** One entry of `device-list-properties` (`ObjectPropertyInfo`). */
export interface DevicePropertyInfo {
  name: string;
  type: string;
  description?: string;
  'default-value'?: unknown;
}

const DATA = new URL('../../../data/device-properties-7.2.json', import.meta.url);

/** The recorded property lists, read once per simulator. */
export class DeviceProperties {
  #table: Readonly<Record<string, readonly DevicePropertyInfo[]>> | undefined;

  #all(): Readonly<Record<string, readonly DevicePropertyInfo[]>> {
    this.#table ??= JSON.parse(readFileSync(DATA, 'utf8')) as Record<string, readonly DevicePropertyInfo[]>;
    return this.#table;
  }

  /** The properties of a device model, or undefined for a model without a recording. */
  of(driver: string): readonly DevicePropertyInfo[] | undefined {
    return this.#all()[driver];
  }

  /** The declared property `name` of `driver`, or QEMU's "Property 'DRIVER.NAME' not found". */
  require(driver: string, name: string): DevicePropertyInfo | undefined {
    const list = this.of(driver);
    if (list === undefined) return undefined;
    const p = list.find((x) => x.name === name);
    if (p === undefined) throw new QmpCommandError('GenericError', `Property '${driver}.${name}' not found`);
    return p;
  }
}

/**
 * A `device_add` argument as QEMU 7.2 sees it: device_add goes through QEMU's option strings, so
 * numbers become their decimal text and booleans `on`/`off`.
 */
export function optionString(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'string') return v;
  return String(v);
}

/** QEMU's MAC property syntax: six pairs of hex digits, each separated by `:` or `-`. */
export function isMacAddress(text: string): boolean {
  return /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text);
}

/** The value `qom-get` gives for a property set from option text, by the property's QAPI type. */
export function typedValue(type: string, text: string): unknown {
  if (type === 'bool') return text === 'on' || text === 'true' || text === 'yes';
  if (/^u?int(8|16|32|64)$/.test(type)) {
    const n = Number(text);
    return Number.isFinite(n) ? n : text;
  }
  return text;
}

/** QEMU's boolean option values. */
export function isOnOff(text: string): boolean {
  return ['on', 'off', 'yes', 'no', 'true', 'false'].includes(text);
}
