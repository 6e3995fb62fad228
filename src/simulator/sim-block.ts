import { statSync } from 'node:fs';
import { QmpCommandError } from '../errors/qmp-command-error.js';
import { isQemuIdentifier } from './qemu-identifier.js';
import { SimFds } from './sim-fds.js';

/** A block node (`blockdev-add`, or the nodes behind a `-drive`). */
export interface SimBlockNode {
  nodeName: string;
  driver: string;
  filename: string;
  readonly: boolean;
  virtualSize: number;
  /** Bytes allocated on disk (`actual-size`); undefined for nodes without a file. */
  actualSize: number | undefined;
  /** Set when a backend or another node uses it. */
  usedBy: string | undefined;
  /** The fd set a `file` node opened as `/dev/fdset/ID`. */
  fdset?: number;
  /** Dirty bitmaps, newest first (QEMU lists them so). */
  bitmaps?: SimBitmap[];
}

/** A dirty bitmap (`block-dirty-bitmap-add`). Nothing writes to simulated nodes: it stays empty. */
export interface SimBitmap {
  readonly name: string;
  readonly granularity: number;
  readonly persistent: boolean;
  recording: boolean;
}

/** A BlockBackend (`-drive`), optionally attached to a device and holding a medium. */
export interface SimBlockBackend {
  /** Backend name (`device` in QMP), `""` for anonymous backends. */
  name: string;
  /** qdev id (or QOM path) of the attached device. */
  qdev: string | undefined;
  removable: boolean;
  locked: boolean;
  trayOpen: boolean;
  medium: SimBlockNode | undefined;
  ioStatus: 'ok' | 'failed' | 'nospace';
}

/** The event the block layer reports; the simulator forwards it to the server. */
export type SimBlockEmit = (
  event: 'DEVICE_TRAY_MOVED',
  data: { device: string; id: string; 'tray-open': boolean },
) => void;

/** Size and allocated bytes of an image file, or QEMU's error for one it cannot open. */
function statImage(filename: string): { size: number; allocated: number } {
  try {
    const st = statSync(filename);
    return { size: st.size, allocated: st.blocks * 512 };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new QmpCommandError(
      'GenericError',
      `Could not open '${filename}': ${code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : String(err)}`,
    );
  }
}

/** Block state: backends with trays and media, and named nodes. Errors use QEMU 7.2's texts. */
export class SimBlock {
  readonly backends: SimBlockBackend[] = [];
  readonly nodes = new Map<string, SimBlockNode>();
  #autoNode = 100;
  readonly #emit: SimBlockEmit;
  readonly #fds: SimFds | undefined;

  constructor(emit: SimBlockEmit, fds?: SimFds) {
    this.#emit = emit;
    this.#fds = fds;
  }

  /** QEMU names anonymous nodes `#blockNNN`. */
  autoNodeName(): string {
    return `#block${String(this.#autoNode++).padStart(3, '0')}`;
  }

  /** Opens an image file as a node (the size is the file's; a missing file is QEMU's error). */
  openImage(filename: string, format: string | undefined, readonly: boolean, nodeName?: string): SimBlockNode {
    const {
      size,
      allocated,
      fdsetId: fdset,
    } = this.#fds !== undefined && SimFds.isFdsetPath(filename)
      ? this.#fds.open(filename, readonly)
      : { ...statImage(filename), fdsetId: undefined };
    const node: SimBlockNode = {
      nodeName: nodeName ?? this.autoNodeName(),
      driver: format ?? 'raw',
      filename,
      readonly,
      virtualSize: size,
      actualSize: allocated,
      usedBy: undefined,
    };
    if (fdset !== undefined) node.fdset = fdset;
    this.nodes.set(node.nodeName, node);
    return node;
  }

  /** Finds a backend by `device` (backend name) or `id` (qdev id or QOM path): QEMU's rule of exactly one. */
  find(args: { device?: string | undefined; id?: string | undefined }): SimBlockBackend {
    const { device, id } = args;
    if ((device === undefined) === (id === undefined))
      throw new QmpCommandError('GenericError', "Need exactly one of 'device' and 'id'");
    const b =
      device !== undefined
        ? this.backends.find((x) => x.name === device && x.name !== '')
        : this.backends.find((x) => x.qdev === id || (x.qdev !== undefined && `/machine/peripheral/${x.qdev}` === id));
    if (!b) throw new QmpCommandError('DeviceNotFound', `Device '${device ?? id}' not found`);
    return b;
  }

  #trayEvent(b: SimBlockBackend, open: boolean): void {
    b.trayOpen = open;
    this.#emit('DEVICE_TRAY_MOVED', { device: b.name, id: b.qdev ?? '', 'tray-open': open });
  }

  #label(b: SimBlockBackend, args: { device?: string | undefined; id?: string | undefined }): string {
    return args.device ?? args.id ?? b.name;
  }

  /** `eject`: open the tray (event when it was closed) and remove the medium. */
  eject(args: { device?: string | undefined; id?: string | undefined; force?: boolean | undefined }): void {
    const b = this.find(args);
    this.openTray(b, args, args.force ?? false);
    this.#removeMedium(b);
  }

  openTray(b: SimBlockBackend, args: { device?: string | undefined; id?: string | undefined }, force: boolean): void {
    if (!b.removable) throw new QmpCommandError('GenericError', `Device '${this.#label(b, args)}' is not removable`);
    if (b.trayOpen) return;
    if (b.locked && !force) {
      throw new QmpCommandError(
        'GenericError',
        `Device '${this.#label(b, args)}' is locked and force was not specified, wait for tray to open and try again`,
      );
    }
    this.#trayEvent(b, true);
  }

  closeTray(args: { device?: string | undefined; id?: string | undefined }): void {
    const b = this.find(args);
    if (!b.removable) throw new QmpCommandError('GenericError', `Device '${this.#label(b, args)}' is not removable`);
    if (!b.trayOpen) return;
    this.#trayEvent(b, false);
  }

  removeMedium(id: string): void {
    const b = this.find({ id });
    if (!b.removable) throw new QmpCommandError('GenericError', `Device '${id}' is not removable`);
    if (!b.trayOpen) throw new QmpCommandError('GenericError', `Tray of device '${id}' is not open`);
    this.#removeMedium(b);
  }

  #removeMedium(b: SimBlockBackend): void {
    if (!b.medium) return;
    b.medium.usedBy = undefined;
    // A node QEMU opened for the medium (no user-given name) goes away with it.
    if (b.medium.nodeName.startsWith('#')) this.nodes.delete(b.medium.nodeName);
    b.medium = undefined;
  }

  insertMedium(id: string, nodeName: string): void {
    const b = this.find({ id });
    const node = this.nodes.get(nodeName);
    if (!node) throw new QmpCommandError('GenericError', `Node '${nodeName}' not found`);
    if (node.usedBy !== undefined) throw new QmpCommandError('GenericError', `Node '${nodeName}' is already in use`);
    if (!b.removable) throw new QmpCommandError('GenericError', `Device '${id}' is not removable`);
    if (!b.trayOpen) throw new QmpCommandError('GenericError', `Tray of device '${id}' is not open`);
    if (b.medium) throw new QmpCommandError('GenericError', 'There already is a medium in the device');
    node.usedBy = b.name || id;
    b.medium = node;
  }

  /** `blockdev-change-medium`: open (event if closed), insert, close (event). */
  changeMedium(args: {
    device?: string | undefined;
    id?: string | undefined;
    filename: string;
    format?: string | undefined;
    force?: boolean | undefined;
    'read-only-mode'?: string | undefined;
  }): void {
    const b = this.find(args);
    if (!b.removable) throw new QmpCommandError('GenericError', `Device '${this.#label(b, args)}' is not removable`);
    const mode = args['read-only-mode'] ?? 'retain';
    const ro = mode === 'read-only' ? true : mode === 'read-write' ? false : (b.medium?.readonly ?? true);
    const node = this.openImage(args.filename, args.format, ro);
    try {
      this.openTray(b, args, args.force ?? false);
    } catch (err) {
      this.nodes.delete(node.nodeName);
      throw err;
    }
    this.#removeMedium(b);
    node.usedBy = b.name;
    b.medium = node;
    this.#trayEvent(b, false);
  }

  /** `blockdev-add` for simple nodes: `file`, `host_device`, `null-co`, `null-aio`, and raw/qcow2 over a file node. */
  add(args: Record<string, unknown>): void {
    const driver = String(args['driver']);
    const nodeName = args['node-name'];
    if (typeof nodeName !== 'string')
      throw new QmpCommandError('GenericError', "'node-name' is required by the simulator's blockdev-add");
    if (!isQemuIdentifier(nodeName)) throw new QmpCommandError('GenericError', `Invalid node-name: '${nodeName}'`);
    if (this.nodes.has(nodeName))
      throw new QmpCommandError('GenericError', `Duplicate nodes with node-name='${nodeName}'`);
    // QEMU keeps node names in a 32-byte buffer, terminating NUL included.
    if (nodeName.length >= 32) throw new QmpCommandError('GenericError', 'Node name too long');
    const ro = args['read-only'] === true;
    let node: SimBlockNode;
    if (driver === 'file' || driver === 'host_device') {
      const filename = String(args['filename']);
      node = this.openImage(filename, driver, ro, nodeName);
    } else if (driver === 'null-co' || driver === 'null-aio') {
      const size = typeof args['size'] === 'number' ? args['size'] : 1 << 30;
      node = {
        nodeName,
        driver,
        // An option the plain name cannot say makes QEMU spell the node's options out as JSON.
        filename: typeof args['size'] === 'number' ? `json:{"driver": "${driver}", "size": ${size}}` : `${driver}://`,
        readonly: ro,
        virtualSize: size,
        actualSize: undefined,
        usedBy: undefined,
      };
    } else {
      const file = args['file'];
      const childName = typeof file === 'string' ? file : this.#inlineFile(file, ro);
      const child = childName ? this.nodes.get(childName) : undefined;
      if (!childName || !child) {
        throw new QmpCommandError(
          'GenericError',
          childName
            ? `Cannot find device='' nor node-name='${childName}'`
            : `The simulator supports '${driver}' only over an existing file node (file: "node-name")`,
        );
      }
      child.usedBy = nodeName;
      node = {
        nodeName,
        driver,
        filename: child.filename,
        readonly: ro,
        virtualSize: child.virtualSize,
        actualSize: child.actualSize,
        usedBy: undefined,
      };
    }
    this.nodes.set(nodeName, node);
  }

  /**
   * A `file` given inline (`{ "driver": "file", "filename": ... }`) becomes an anonymous node, as QEMU
   * makes one; its name, or undefined for anything else.
   */
  #inlineFile(file: unknown, readonly: boolean): string | undefined {
    if (typeof file !== 'object' || file === null) return undefined;
    const { driver, filename } = file as Record<string, unknown>;
    if ((driver !== 'file' && driver !== 'host_device') || typeof filename !== 'string') return undefined;
    return this.openImage(filename, driver, readonly).nodeName;
  }

  del(nodeName: string): void {
    const node = this.nodes.get(nodeName);
    if (!node || nodeName.startsWith('#'))
      throw new QmpCommandError('GenericError', `Failed to find node with node-name='${nodeName}'`);
    // QEMU's words: a node under a device (a BlockBackend) is "in use" by node name; one that
    // another node holds as a child is a "block device" in use.
    if (node.usedBy !== undefined) {
      throw new QmpCommandError(
        'GenericError',
        this.nodes.has(node.usedBy) ? `Block device ${nodeName} is in use` : `Node ${nodeName} is in use`,
      );
    }
    this.#drop(node);
    // A child QEMU made for an inline `file` goes with its parent; a named one stays.
    for (const other of [...this.nodes.values()]) {
      if (other.usedBy !== nodeName) continue;
      if (other.nodeName.startsWith('#')) this.#drop(other);
      else other.usedBy = undefined;
    }
  }

  #drop(node: SimBlockNode): void {
    this.nodes.delete(node.nodeName);
    if (node.fdset !== undefined) this.#fds?.release(node.fdset);
  }

  /** BlockDeviceInfo of a node, as `query-block`'s `inserted` and `query-named-block-nodes`. */
  nodeInfo(n: SimBlockNode): Record<string, unknown> {
    return {
      file: n.filename,
      'node-name': n.nodeName,
      ro: n.readonly,
      drv: n.driver,
      backing_file_depth: 0,
      encrypted: false,
      detect_zeroes: 'off',
      bps: 0,
      bps_rd: 0,
      bps_wr: 0,
      iops: 0,
      iops_rd: 0,
      iops_wr: 0,
      image: {
        filename: n.filename,
        format: n.driver,
        'virtual-size': n.virtualSize,
        'actual-size': n.actualSize ?? 0,
        // Nodes without a file (null-co) have no dirty flag in QEMU's ImageInfo.
        'dirty-flag': n.actualSize === undefined ? undefined : false,
      },
      cache: { writeback: true, direct: false, 'no-flush': false },
      write_threshold: 0,
      'dirty-bitmaps':
        n.bitmaps === undefined || n.bitmaps.length === 0
          ? undefined
          : n.bitmaps.map((b) => ({
              name: b.name,
              recording: b.recording,
              persistent: b.persistent,
              busy: false,
              granularity: b.granularity,
              count: 0,
            })),
    };
  }

  queryBlock(): Record<string, unknown>[] {
    return this.backends.map((b) => ({
      device: b.name,
      qdev: b.qdev,
      type: 'unknown',
      removable: b.removable,
      locked: b.locked,
      inserted: b.medium ? this.nodeInfo(b.medium) : undefined,
      tray_open: b.removable ? b.trayOpen : undefined,
      'io-status': b.ioStatus,
    }));
  }

  /** HMP `info block`, in QEMU's words. */
  infoBlock(): string {
    const parts = this.backends.map((b) => {
      let s = '';
      if (b.medium)
        s += `${b.name} (${b.medium.nodeName}): ${b.medium.filename} (${b.medium.driver}${b.medium.readonly ? ', read-only' : ''})\r\n`;
      else s += `${b.name}: [not inserted]\r\n`;
      if (b.qdev !== undefined) s += `    Attached to:      ${b.qdev}\r\n`;
      if (b.removable)
        s += `    Removable device: ${b.locked ? 'locked' : 'not locked'}, tray ${b.trayOpen ? 'open' : 'closed'}\r\n`;
      if (b.ioStatus !== 'ok') s += `    I/O status:       ${b.ioStatus}\r\n`;
      if (b.medium) s += '    Cache mode:       writeback\r\n';
      return s;
    });
    return parts.join('\r\n');
  }
}
