// transport/: the address grammar (QEMU's own forms), and connect/listen for unix, tcp, tls,
// inherited fds and stdio. The only folder that opens sockets. Imports errors, limits, trace.
export { addressFlag, formatAddress, parseAddress, type QmpAddress, type QmpAddressOptions } from './address.js';
export { connectTransport, type QmpConnectOptions, type QmpTlsOptions, type QmpTransport } from './connect.js';
export { fdPassingSupport, loadFdAddon, type QmpFdAddon, type QmpFdAddonStatus } from './fd-addon.js';
export { closeFds, type QmpFdArrival, type QmpFdReceiver, type QmpFdReceiverStatus, receiveFds } from './fd-receive.js';
export { fdChannelFor, type QmpFdChannel, type QmpFdChannelStatus } from './fd-socket.js';
export { listenTransport, type QmpListenOptions, type QmpListenTransport } from './listen.js';
export {
  listenTls,
  type QmpTlsListener,
  type QmpTlsListenOptions,
  type QmpTlsPeer,
  type QmpTlsServerOptions,
} from './listen-tls.js';
