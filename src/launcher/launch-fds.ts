import { fstatSync } from 'node:fs';
import { QmpUsageError } from '../errors/qmp-error.js';

/**
 * A descriptor handed to QEMU at start: it becomes one of QEMU's own descriptors and is put in an fd
 * set with `-add-fd`, so QEMU can open `/dev/fdset/SET` without a path it may not reach itself.
 */
export interface LaunchFd {
  /** An open descriptor of this process. It stays this process's: close it whenever you like. */
  readonly fd: number;
  /** The fd set (`set=` of `-add-fd`); default: its place in `fds` plus one. */
  readonly set?: number;
  /** Free text QEMU shows beside it in `query-fdsets` (`opaque=`). */
  readonly opaque?: string;
}

/** The first descriptor number QEMU gets them at: 0-2 are its stdio. */
const FIRST_CHILD_FD = 3;

/** QEMU's option syntax doubles commas inside a value. */
const qemuOptValue = (s: string): string => s.replaceAll(',', ',,');

/**
 * The spawn `stdio` entries after stdin, stdout and stderr, and the matching `-add-fd` options: the
 * i-th descriptor is QEMU's descriptor 3 + i. Throws `QMP_ERR_USAGE` for a descriptor that is not
 * open or a set that is not a non-negative integer, before anything is started.
 */
export function launchFdPlan(fds: readonly (number | LaunchFd)[]): { stdio: number[]; args: string[] } {
  const stdio: number[] = [];
  const args: string[] = [];
  for (const [i, given] of fds.entries()) {
    const spec: LaunchFd = typeof given === 'number' ? { fd: given } : given;
    const set = spec.set ?? i + 1;
    if (!Number.isInteger(spec.fd) || spec.fd < 0)
      throw new QmpUsageError(`launch: fds[${i}] must be an open file descriptor, not ${String(spec.fd)}`);
    if (!Number.isInteger(set) || set < 0)
      throw new QmpUsageError(`launch: fds[${i}].set must be a non-negative integer, not ${String(set)}`);
    try {
      fstatSync(spec.fd);
    } catch (err) {
      throw new QmpUsageError(`launch: fds[${i}] (${spec.fd}) is not an open file descriptor`, { cause: err });
    }
    stdio.push(spec.fd);
    let opt = `fd=${FIRST_CHILD_FD + i},set=${set}`;
    if (spec.opaque !== undefined) opt += `,opaque=${qemuOptValue(spec.opaque)}`;
    args.push('-add-fd', opt);
  }
  return { stdio, args };
}
