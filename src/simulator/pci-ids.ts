// What `query-pci` shows for each PCI function the simulator knows: ids, class and BARs as QEMU 7.2
// reports them before the firmware has assigned addresses (every BAR at -1, interrupt line 0).

/** One BAR of a PCI function (`PciMemoryRegion`). */
export interface PciRegion {
  bar: number;
  type: 'io' | 'memory';
  size: number;
  prefetch?: boolean;
  mem_type_64?: boolean;
}

/** The fixed part of a function's `PciDeviceInfo`. */
export interface PciIdentity {
  /** Class code (`class_info.class`) and QEMU's description of it, when it has one. */
  class: number;
  desc?: string;
  vendor: number;
  device: number;
  /** Absent for bridges (a type 1 header has no subsystem ids). */
  subsystem?: { vendor: number; id: number };
  /** Interrupt pin (0: none, 1: INTA). */
  irqPin: number;
  regions: readonly PciRegion[];
  /** PCI-to-PCI bridges (root ports) also report their secondary bus. */
  bridge?: boolean;
}

const io = (bar: number, size: number): PciRegion => ({ bar, type: 'io', size });
const mem = (bar: number, size: number, prefetch = false, m64 = false): PciRegion => ({
  bar,
  type: 'memory',
  size,
  prefetch,
  mem_type_64: m64,
});

const QEMU_SUBSYS = { vendor: 0x1af4, id: 0x1100 };
const INTEL = 0x8086;
const REDHAT_VIRTIO = 0x1af4;
const ROM = mem(6, 262144);
const VIRTIO_MODERN = mem(4, 16384, true, true);
const virtio = (device: number, subsystem: number, cls: number, desc: string | undefined, regions: PciRegion[]) => ({
  class: cls,
  ...(desc === undefined ? {} : { desc }),
  vendor: REDHAT_VIRTIO,
  device,
  subsystem: { vendor: REDHAT_VIRTIO, id: subsystem },
  irqPin: 1,
  regions,
});

/** Devices a user can add, by driver name. */
export const PCI_DEVICE_IDS: Readonly<Record<string, PciIdentity>> = {
  e1000: {
    class: 0x200,
    desc: 'Ethernet controller',
    vendor: INTEL,
    device: 0x100e,
    subsystem: QEMU_SUBSYS,
    irqPin: 1,
    regions: [mem(0, 131072), io(1, 64), ROM],
  },
  e1000e: {
    class: 0x200,
    desc: 'Ethernet controller',
    vendor: INTEL,
    device: 0x10d3,
    subsystem: { vendor: INTEL, id: 0 },
    irqPin: 1,
    regions: [mem(0, 131072), mem(1, 131072), io(2, 32), mem(3, 16384), ROM],
  },
  rtl8139: {
    class: 0x200,
    desc: 'Ethernet controller',
    vendor: 0x10ec,
    device: 0x8139,
    subsystem: QEMU_SUBSYS,
    irqPin: 1,
    regions: [io(0, 256), mem(1, 256), ROM],
  },
  'virtio-net-pci': virtio(0x1000, 1, 0x200, 'Ethernet controller', [io(0, 32), mem(1, 4096), VIRTIO_MODERN, ROM]),
  'virtio-blk-pci': virtio(0x1001, 2, 0x100, 'SCSI controller', [io(0, 128), mem(1, 4096), VIRTIO_MODERN]),
  'virtio-scsi-pci': virtio(0x1004, 8, 0x100, 'SCSI controller', [io(0, 64), mem(1, 4096), VIRTIO_MODERN]),
  'virtio-serial-pci': virtio(0x1003, 3, 0x780, undefined, [io(0, 64), mem(1, 4096), VIRTIO_MODERN]),
  'virtio-rng-pci': virtio(0x1005, 4, 0xff, undefined, [io(0, 32), mem(1, 4096), VIRTIO_MODERN]),
  'virtio-balloon-pci': virtio(0x1002, 5, 0xff, undefined, [io(0, 64), VIRTIO_MODERN]),
  'qemu-xhci': {
    class: 0xc03,
    desc: 'USB controller',
    vendor: 0x1b36,
    device: 0xd,
    subsystem: QEMU_SUBSYS,
    irqPin: 1,
    regions: [mem(0, 16384, false, true)],
  },
  'nec-usb-xhci': {
    class: 0xc03,
    desc: 'USB controller',
    vendor: 0x1033,
    device: 0x194,
    subsystem: QEMU_SUBSYS,
    irqPin: 1,
    regions: [mem(0, 16384, false, true)],
  },
  'pcie-root-port': {
    class: 0x604,
    desc: 'PCI bridge',
    vendor: 0x1b36,
    device: 0xc,
    irqPin: 1,
    regions: [mem(0, 4096)],
    bridge: true,
  },
};

/** A function the machine itself puts on its root bus. */
export interface PciBuiltin {
  devfn: number;
  /** QEMU's type name, as its slot-conflict errors name it. */
  name: string;
  ids: PciIdentity;
}

const builtin = (slot: number, fn: number, name: string, ids: Omit<PciIdentity, 'subsystem'>): PciBuiltin => ({
  devfn: slot * 8 + fn,
  name,
  ids: { ...ids, subsystem: QEMU_SUBSYS },
});

/** The functions of an i440FX `pc` machine with `-nodefaults`. */
export const PC_BUILTINS: readonly PciBuiltin[] = [
  builtin(0, 0, 'i440FX', { class: 0x600, desc: 'Host bridge', vendor: INTEL, device: 0x1237, irqPin: 0, regions: [] }),
  builtin(1, 0, 'PIIX3', { class: 0x601, desc: 'ISA bridge', vendor: INTEL, device: 0x7000, irqPin: 0, regions: [] }),
  builtin(1, 1, 'piix3-ide', {
    class: 0x101,
    desc: 'IDE controller',
    vendor: INTEL,
    device: 0x7010,
    irqPin: 0,
    regions: [io(4, 16)],
  }),
  builtin(1, 3, 'PIIX4_PM', { class: 0x680, desc: 'Bridge', vendor: INTEL, device: 0x7113, irqPin: 1, regions: [] }),
];

/** The functions of a `q35` machine with `-nodefaults`. */
export const Q35_BUILTINS: readonly PciBuiltin[] = [
  builtin(0, 0, 'mch', { class: 0x600, desc: 'Host bridge', vendor: INTEL, device: 0x29c0, irqPin: 0, regions: [] }),
  builtin(31, 0, 'ICH9-LPC', {
    class: 0x601,
    desc: 'ISA bridge',
    vendor: INTEL,
    device: 0x2918,
    irqPin: 0,
    regions: [],
  }),
  builtin(31, 2, 'ich9-ahci', {
    class: 0x106,
    desc: 'SATA controller',
    vendor: INTEL,
    device: 0x2922,
    irqPin: 1,
    regions: [io(4, 32), mem(5, 4096)],
  }),
  builtin(31, 3, 'ICH9-SMB', {
    class: 0xc05,
    desc: 'SMBus',
    vendor: INTEL,
    device: 0x2930,
    irqPin: 1,
    regions: [io(4, 64)],
  }),
];
