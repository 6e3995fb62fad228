import type { QapiIntrospectionHints } from './qapi-schema.js';

/**
 * Facts QEMU 7.2's introspection leaves out, measured on the real 7.2 binary (x86_64) by
 * test/integration/validator-vs-qemu.test.ts, which re-measures them and fails when they drift:
 * the exact width of every integer argument that is not `int64` (introspection says `int` for all),
 * QEMU's names of the alternates (its error texts name them), and the `'gen': false` commands.
 * Keys are the derived type names of {@link QapiSchema.typeName}.
 */
export const QEMU_7_2_HINTS: QapiIntrospectionHints = {
  types: {
    BlockDirtyBitmapAddArguments: { members: { granularity: 'uint32' } },
    BlockDirtyBitmapMergeArgumentsBitmaps: { name: 'BlockDirtyBitmapOrStr' },
    BlockExportAddArgumentsVduseBlk: {
      members: { 'num-queues': 'uint16', 'queue-size': 'uint16', 'logical-block-size': 'uint64' },
    },
    BlockExportAddArgumentsVhostUserBlk: { members: { 'logical-block-size': 'uint64', 'num-queues': 'uint16' } },
    BlockLatencyHistogramSetArguments: {
      members: {
        boundaries: '[uint64]',
        'boundaries-read': '[uint64]',
        'boundaries-write': '[uint64]',
        'boundaries-flush': '[uint64]',
      },
    },
    BlockSetWriteThresholdArguments: { members: { 'write-threshold': 'uint64' } },
    BlockdevAddArgumentsBlkdebug: {
      members: {
        'max-transfer': 'int32',
        'opt-write-zero': 'int32',
        'max-write-zero': 'int32',
        'opt-discard': 'int32',
        'max-discard': 'int32',
      },
    },
    BlockdevAddArgumentsBlkdebugImage: { name: 'BlockdevRef' },
    BlockdevAddArgumentsBlklogwrites: {
      members: { 'log-sector-size': 'uint32', 'log-super-update-interval': 'uint64' },
    },
    BlockdevAddArgumentsCopyBeforeWrite: { members: { 'cbw-timeout': 'uint32' } },
    BlockdevAddArgumentsNbd: { members: { 'reconnect-delay': 'uint32', 'open-timeout': 'uint32' } },
    BlockdevAddArgumentsNullAio: { members: { 'latency-ns': 'uint64' } },
    BlockdevAddArgumentsQcow2Backing: { name: 'BlockdevRefOrNull' },
    BlockdevAddArgumentsQcow2OverlapCheck: { name: 'Qcow2OverlapChecks' },
    BlockdevAddArgumentsSshServer: { members: { to: 'uint16' } },
    BlockdevCreateArgumentsOptionsFile: { members: { size: 'uint64', 'extent-size-hint': 'uint64' } },
    BlockdevCreateArgumentsOptionsGluster: { members: { size: 'uint64' } },
    BlockdevCreateArgumentsOptionsLuks: { members: { size: 'uint64' } },
    BlockdevCreateArgumentsOptionsNfs: { members: { size: 'uint64' } },
    BlockdevCreateArgumentsOptionsParallels: { members: { size: 'uint64', 'cluster-size': 'uint64' } },
    BlockdevCreateArgumentsOptionsQcow: { members: { size: 'uint64' } },
    BlockdevCreateArgumentsOptionsQcow2: { members: { size: 'uint64', 'cluster-size': 'uint64' } },
    BlockdevCreateArgumentsOptionsQed: { members: { size: 'uint64', 'cluster-size': 'uint64' } },
    BlockdevCreateArgumentsOptionsRbd: { members: { size: 'uint64', 'cluster-size': 'uint64' } },
    BlockdevCreateArgumentsOptionsSsh: { members: { size: 'uint64' } },
    BlockdevCreateArgumentsOptionsVdi: { members: { size: 'uint64' } },
    BlockdevCreateArgumentsOptionsVhdx: { members: { size: 'uint64', 'log-size': 'uint64', 'block-size': 'uint64' } },
    BlockdevCreateArgumentsOptionsVmdk: { members: { size: 'uint64' } },
    BlockdevCreateArgumentsOptionsVpc: { members: { size: 'uint64' } },
    BlockdevMirrorArguments: { members: { granularity: 'uint32' } },
    DriveMirrorArguments: { members: { granularity: 'uint32' } },
    MigrateSetParametersArguments: {
      members: {
        'announce-initial': 'uint64',
        'announce-max': 'uint64',
        'announce-rounds': 'uint64',
        'announce-step': 'uint64',
        'compress-level': 'uint8',
        'compress-threads': 'uint8',
        'decompress-threads': 'uint8',
        'throttle-trigger-threshold': 'uint8',
        'cpu-throttle-initial': 'uint8',
        'cpu-throttle-increment': 'uint8',
        'max-bandwidth': 'uint64',
        'downtime-limit': 'uint64',
        'x-checkpoint-delay': 'uint32',
        'multifd-channels': 'uint8',
        'xbzrle-cache-size': 'uint64',
        'max-postcopy-bandwidth': 'uint64',
        'max-cpu-throttle': 'uint8',
        'multifd-zlib-level': 'uint8',
        'multifd-zstd-level': 'uint8',
      },
    },
    MigrateSetParametersArgumentsTlsCreds: { name: 'StrOrNull' },
    NbdServerStartArguments: { members: { 'max-connections': 'uint32' } },
    NetdevAddArgumentsHubport: { members: { hubid: 'int32' } },
    NetdevAddArgumentsL2tpv3: {
      members: { txcookie: 'uint64', rxcookie: 'uint64', txsession: 'uint32', rxsession: 'uint32', offset: 'uint32' },
    },
    NetdevAddArgumentsNic: { members: { vectors: 'uint32' } },
    NetdevAddArgumentsTap: { members: { sndbuf: 'uint64', queues: 'uint32', 'poll-us': 'uint32' } },
    NetdevAddArgumentsVde: { members: { port: 'uint16', mode: 'uint16' } },
    ObjectAddArgumentsColoCompare: {
      members: { compare_timeout: 'uint64', expired_scan_cycle: 'uint32', max_queue_size: 'uint32' },
    },
    ObjectAddArgumentsCryptodevBackend: { members: { queues: 'uint32' } },
    ObjectAddArgumentsCryptodevVhostUser: { members: { queues: 'uint32' } },
    ObjectAddArgumentsFilterBuffer: { members: { interval: 'uint32' } },
    ObjectAddArgumentsFilterDump: { members: { maxlen: 'uint32' } },
    ObjectAddArgumentsMemoryBackendEpc: {
      members: { 'host-nodes': '[uint16]', 'prealloc-threads': 'uint32', size: 'uint64' },
    },
    ObjectAddArgumentsMemoryBackendFile: {
      members: { 'host-nodes': '[uint16]', 'prealloc-threads': 'uint32', size: 'uint64', align: 'uint64' },
    },
    ObjectAddArgumentsMemoryBackendMemfd: {
      members: { 'host-nodes': '[uint16]', 'prealloc-threads': 'uint32', size: 'uint64', hugetlbsize: 'uint64' },
    },
    ObjectAddArgumentsMemoryBackendRam: {
      members: { 'host-nodes': '[uint16]', 'prealloc-threads': 'uint32', size: 'uint64' },
    },
    ObjectAddArgumentsSecretKeyring: { members: { serial: 'int32' } },
    ObjectAddArgumentsSevGuest: {
      members: { policy: 'uint32', handle: 'uint32', cbitpos: 'uint32', 'reduced-phys-bits': 'uint32' },
    },
    ObjectAddArgumentsThreadContext: { members: { 'cpu-affinity': '[uint16]', 'node-affinity': '[uint16]' } },
    QueryRockerOfDpaFlowsArguments: { members: { 'tbl-id': 'uint32' } },
    QueryRockerOfDpaGroupsArguments: { members: { type: 'uint8' } },
    SetNumaNodeArgumentsDist: { members: { src: 'uint16', dst: 'uint16', val: 'uint8' } },
    SetNumaNodeArgumentsHmatCache: { members: { 'node-id': 'uint32', size: 'uint64', level: 'uint8', line: 'uint16' } },
    SetNumaNodeArgumentsHmatLb: {
      members: { initiator: 'uint16', target: 'uint16', latency: 'uint64', bandwidth: 'uint64' },
    },
    SetNumaNodeArgumentsNode: { members: { nodeid: 'uint16', cpus: '[uint16]', mem: 'uint64', initiator: 'uint16' } },
    SetVcpuDirtyLimitArguments: { members: { 'dirty-rate': 'uint64' } },
    SevInjectLaunchSecretArguments: { members: { gpa: 'uint64' } },
    XQueryVirtioQueueElementArguments: { members: { queue: 'uint16', index: 'uint16' } },
    XQueryVirtioQueueStatusArguments: { members: { queue: 'uint16' } },
    XQueryVirtioVhostQueueStatusArguments: { members: { queue: 'uint16' } },
  },
  commands: { device_add: { gen: false } },
};
