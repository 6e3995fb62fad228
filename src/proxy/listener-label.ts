import type { QmpAddress } from '../transport/index.js';
import { formatAddress } from '../transport/index.js';

/** How the proxy names a bound listener: `unix:PATH`, `tcp:HOST:PORT` or `tls:HOST:PORT`. */
export function listenerLabel(address: QmpAddress, tls: boolean): string {
  const text = formatAddress(address);
  return tls ? `tls:${text.replace(/^tcp:/, '')}` : text;
}

/**
 * Why binding `address` deserves a warning, if it does: every interface (`0.0.0.0`, `::`) opens the
 * monitor to the network, and plain TCP has no authentication at all.
 */
export function exposedListenWarning(address: QmpAddress, tls: boolean): string | undefined {
  if (address.kind !== 'tcp') return undefined;
  const host = address.host.replace(/^\[|\]$/g, '');
  if (host !== '0.0.0.0' && host !== '::' && host !== '' && host !== '::0') return undefined;
  return tls
    ? 'listens on every network interface: only a required client certificate (--tls-ca) keeps strangers off the monitor'
    : 'listens on every network interface without TLS: anyone who can reach this port controls the VM (QMP has no authentication)';
}
