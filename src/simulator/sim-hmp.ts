/** What HMP needs from the machine. */
export interface SimHmpHost {
  status(): { running: boolean; state: string };
  version(): string;
  name(): string | undefined;
  uuid(): string;
  infoBlock(): string;
  stop(): void;
  cont(): void;
  reset(): void;
  powerdown(): void;
}

const HELP: ReadonlyArray<[string, string]> = [
  ['cont|c', 'resume emulation'],
  ['help|? [cmd]', 'show the help'],
  ['info [subcommand]', 'show various information about the system state'],
  ['stop|s', 'stop emulation'],
  ['system_powerdown', 'send system power down event'],
  ['system_reset', 'reset the system'],
];

const INFO_HELP: ReadonlyArray<[string, string]> = [
  [
    'info block [-n] [-v] [device]',
    'show info of one block device or all block devices (-n: show named nodes; -v: show details)',
  ],
  ['info kvm', 'show KVM information'],
  ['info name', 'show the current VM name'],
  ['info status', 'show the current VM status (running|paused)'],
  ['info uuid', 'show the current VM UUID'],
  ['info version', 'show the version of QEMU'],
];

function lines(rows: ReadonlyArray<[string, string]>): string {
  return rows.map(([c, d]) => `${c} -- ${d}\r\n`).join('');
}

/**
 * The HMP subset behind `human-monitor-command`, with QEMU's texts (CRLF line ends; an unknown
 * command is a successful reply saying so, as in QEMU).
 */
export function runHmp(host: SimHmpHost, commandLine: string): string {
  const words = commandLine
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const [cmd, sub] = words;
  if (cmd === undefined) return '';
  switch (cmd) {
    case 'info':
      switch (sub) {
        case 'status': {
          const s = host.status();
          return s.running
            ? 'VM status: running\r\n'
            : `VM status: paused${s.state === 'paused' ? '' : ` (${s.state})`}\r\n`;
        }
        case 'version':
          return `${host.version()}\r\n`;
        case 'block':
          return host.infoBlock();
        case 'name': {
          const n = host.name();
          return n === undefined ? '' : `${n}\r\n`;
        }
        case 'uuid':
          return `${host.uuid()}\r\n`;
        case 'kvm':
          return 'kvm support: disabled\r\n';
        case undefined:
          return lines(INFO_HELP);
        default:
          return lines(INFO_HELP);
      }
    case 'help':
    case '?':
      return lines(HELP);
    case 'stop':
    case 's':
      host.stop();
      return '';
    case 'cont':
    case 'c':
      host.cont();
      return '';
    case 'system_reset':
      host.reset();
      return '';
    case 'system_powerdown':
      host.powerdown();
      return '';
    default:
      return `unknown command: '${cmd}'\r\n`;
  }
}
