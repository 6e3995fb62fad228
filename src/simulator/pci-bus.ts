// PCI buses of the simulated machine: which function sits at which devfn, QEMU 7.2's slot
// allocation and its errors, and what `query-pci` reports.
import { QmpCommandError } from '../errors/qmp-command-error.js';
import { PCI_DEVICE_IDS, type PciBuiltin, type PciIdentity } from './pci-ids.js';

/** A function on a PCI bus: a machine built-in (`id` undefined, `owner` undefined) or a user device. */
export interface PciFunction {
  devfn: number;
  /** QEMU's type name (the driver for user devices). */
  name: string;
  id: string | undefined;
  ids: PciIdentity;
  multifunction: boolean;
  /** The qdev device it belongs to, for user devices. */
  owner: object | undefined;
}

const FUNCS_PER_SLOT = 8;
/** The expansion ROM's BAR number in query-pci. */
const ROM_BAR = 6;
const DEVFNS = 256;
const SLOTS = 32;

/** QEMU's strtoul(…, 16): leading blanks, a sign, an optional 0x, hex digits. NaN when no digits. */
function strtoulHex(text: string): { value: number; rest: string } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]*)/.exec(text) ?? ['', '', '', ''];
  const digits = m[3] ?? '';
  if (digits === '') return { value: Number.NaN, rest: text };
  // A minus sign wraps around, far past any slot number.
  const value = m[1] === '-' && /[^0]/.test(digits) ? Number.MAX_SAFE_INTEGER : Number.parseInt(digits, 16);
  return { value, rest: text.slice(m[0].length) };
}

/**
 * Parses a PCI `addr` property (`slot[.function]`, hex, as QEMU's property parser reads it). Returns the
 * devfn, or throws QEMU's "Property 'DRIVER.addr' doesn't take value '…'".
 */
export function parseDevfn(driver: string, text: string): number {
  const bad = (): QmpCommandError =>
    new QmpCommandError('GenericError', `Property '${driver}.addr' doesn't take value '${text}'`);
  const slot = strtoulHex(text);
  if (Number.isNaN(slot.value)) throw bad();
  let fn = 0;
  let rest = slot.rest;
  if (rest.startsWith('.')) {
    const f = strtoulHex(rest.slice(1));
    if (Number.isNaN(f.value)) throw bad();
    fn = f.value;
    rest = f.rest;
  }
  if (rest !== '' || slot.value >= SLOTS || fn >= FUNCS_PER_SLOT) throw bad();
  return slot.value * FUNCS_PER_SLOT + fn;
}

const hex = (n: number): string => n.toString(16);

/** One PCI (or PCIe) bus: its functions by devfn. */
export class PciBus {
  readonly name: string;
  /** A root port's secondary bus (not listed by `query-pci` before the firmware numbers buses). */
  readonly secondary: boolean;
  readonly #funcs: Array<PciFunction | undefined> = new Array(DEVFNS);

  constructor(name: string, secondary: boolean) {
    this.name = name;
    this.secondary = secondary;
  }

  /** Puts the machine's built-in functions at their fixed places. */
  addBuiltins(builtins: readonly PciBuiltin[]): void {
    for (const b of builtins) {
      // A slot with several built-in functions (the PIIX and ICH9 south bridges) is multifunction.
      const multifunction = builtins.some((o) => o !== b && slotOf(o.devfn) === slotOf(b.devfn));
      this.#funcs[b.devfn] = {
        devfn: b.devfn,
        name: b.name,
        id: undefined,
        ids: b.ids,
        multifunction,
        owner: undefined,
      };
    }
  }

  /**
   * Checks that a user device can be plugged at `devfn` (undefined: QEMU picks the first slot whose
   * function 0 is free), with QEMU 7.2's errors in its order, and returns the devfn it would get.
   */
  place(driver: string, devfn: number | undefined, multifunction: boolean, hotplugged: boolean): number {
    let at = devfn;
    if (at === undefined) {
      for (let d = 0; d < DEVFNS; d += FUNCS_PER_SLOT) {
        if (this.#funcs[d] === undefined) {
          at = d;
          break;
        }
      }
      if (at === undefined) {
        throw new QmpCommandError(
          'GenericError',
          `PCI: no slot/function available for ${driver}, all in use or reserved`,
        );
      }
    } else {
      const busy = this.#funcs[at];
      if (busy !== undefined) {
        throw new QmpCommandError(
          'GenericError',
          `PCI: slot ${slotOf(at)} function ${fnOf(at)} not available for ${driver}, in use by ${busy.name},id=${busy.id ?? '(null)'}`,
        );
      }
      const f0 = this.#funcs[at - fnOf(at)];
      if (hotplugged && fnOf(at) !== 0 && f0 !== undefined) {
        // A guest sees a new function only when function 0 arrives, so QEMU refuses the others.
        throw new QmpCommandError(
          'GenericError',
          `PCI: slot ${slotOf(at)} function 0 already occupied by ${f0.name}, new func ${driver} cannot be exposed to guest.`,
        );
      }
    }
    const slot = slotOf(at);
    if (fnOf(at) === 0 && !multifunction) {
      for (let fn = 1; fn < FUNCS_PER_SLOT; fn++) {
        if (this.#funcs[slot * FUNCS_PER_SLOT + fn] !== undefined) {
          throw new QmpCommandError(
            'GenericError',
            `PCI: ${hex(slot)}.0 indicates single function, but ${hex(slot)}.${hex(fn)} is already populated.`,
          );
        }
      }
    } else if (fnOf(at) !== 0) {
      const f0 = this.#funcs[slot * FUNCS_PER_SLOT];
      if (f0 !== undefined && !f0.multifunction) {
        throw new QmpCommandError(
          'GenericError',
          `PCI: single function device can't be populated in function ${hex(slot)}.${hex(fnOf(at))}`,
        );
      }
    }
    return at;
  }

  /** Plugs a user device at a devfn `place` returned; `rom: false` when it has no option ROM BAR. */
  plug(
    devfn: number,
    driver: string,
    id: string | undefined,
    options: { multifunction: boolean; rom: boolean },
    owner: object,
  ): void {
    const known = PCI_DEVICE_IDS[driver];
    if (known === undefined) throw new Error(`no PCI identity for ${driver}`);
    const ids = options.rom ? known : { ...known, regions: known.regions.filter((r) => r.bar !== ROM_BAR) };
    this.#funcs[devfn] = { devfn, name: driver, id, ids, multifunction: options.multifunction, owner };
  }

  unplug(owner: object): void {
    const i = this.#funcs.findIndex((f) => f?.owner === owner);
    if (i !== -1) this.#funcs[i] = undefined;
  }

  /** `query-pci`'s `PciInfo` for this bus (bus number 0: nothing numbered yet). */
  info(): Record<string, unknown> {
    const devices = this.#funcs.filter((f): f is PciFunction => f !== undefined).map((f) => deviceInfo(f));
    return { bus: 0, devices };
  }
}

function slotOf(devfn: number): number {
  return devfn >> 3;
}

function fnOf(devfn: number): number {
  return devfn & 7;
}

function deviceInfo(f: PciFunction): Record<string, unknown> {
  const ids = f.ids;
  return {
    bus: 0,
    slot: slotOf(f.devfn),
    function: fnOf(f.devfn),
    class_info: { desc: ids.desc, class: ids.class },
    id: {
      device: ids.device,
      vendor: ids.vendor,
      subsystem: ids.subsystem?.id,
      'subsystem-vendor': ids.subsystem?.vendor,
    },
    irq: ids.irqPin === 0 ? undefined : 0,
    irq_pin: ids.irqPin,
    qdev_id: f.id ?? '',
    pci_bridge: ids.bridge
      ? {
          bus: {
            number: 0,
            secondary: 0,
            subordinate: 0,
            io_range: { base: 61440, limit: 4095 },
            memory_range: { base: 4293918720, limit: 1048575 },
            prefetchable_range: { base: 4293918720, limit: 1048575 },
          },
        }
      : undefined,
    regions: ids.regions.map((r) => ({ ...r, address: -1 })),
  };
}
