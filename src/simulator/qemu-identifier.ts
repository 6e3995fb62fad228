/**
 * QEMU's rule for user-chosen names (qdev ids, object ids, node names): a letter first, then
 * letters, digits, `-`, `.` or `_`. QEMU 7.2 refuses anything else, including the empty string.
 */
export function isQemuIdentifier(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9._-]*$/.test(name);
}
