// transport/: (stub; filled in by its owner)
export {};
