// Generated types for QEMU 7.2 (placeholder until codegen lands)
export {};
