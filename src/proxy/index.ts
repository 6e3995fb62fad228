// proxy/: many clients on one QEMU monitor: a QmpServer in front (QEMU's greeting and negotiation,
// answered locally), a QmpClient behind (its own ids, OOB), event fan-out with bounded buffers,
// allow/deny policies, an audit log, upstream reconnects. Imports client, server, transport,
// protocol, wire, errors, limits, trace; never simulator, launcher or cli.
export { QmpAuditLog, type QmpAuditRecord } from './audit-log.js';
export { auditArguments, type QmpAuditCaps, type QmpAuditValue, REDACTED } from './audit-redact.js';
export { hostPathArguments, type QmpHostPathArgument } from './host-paths.js';
export {
  BUILTIN_PROFILES,
  listenerKey,
  QmpProxyPolicy,
  type QmpProxyPolicyFile,
  type QmpProxyProfile,
  QmpProxyRules,
} from './policy.js';
export {
  formatProxyNotice,
  type QmpProxyListen,
  type QmpProxyNotice,
  type QmpProxyOptions,
} from './proxy-options.js';
export { QmpProxy } from './qmp-proxy.js';
export { requestDenial } from './request-check.js';
