import { readFile, stat } from 'node:fs/promises';
import { QmpRecordingError } from '../errors/index.js';
import { MAX_RECORDING_BYTES } from '../limits.js';
import { parseRecording, type QmpRecording } from './recording.js';

/**
 * Reads and parses a recording file (see `parseRecording` for the formats). Throws
 * `QmpRecordingError` when the file cannot be read, is larger than `maxRecordingBytes` (checked
 * before reading) or is not a recording.
 */
export async function readRecording(path: string, options: { maxRecordingBytes?: number } = {}): Promise<QmpRecording> {
  const max = options.maxRecordingBytes ?? MAX_RECORDING_BYTES;
  const fail = (why: string, cause?: unknown): never => {
    throw new QmpRecordingError(`${path}: ${why}`, { recording: path }, cause === undefined ? {} : { cause });
  };
  let text: string;
  try {
    const size = (await stat(path)).size;
    if (size > max) return fail(`${size} bytes, more than maxRecordingBytes (${max})`);
    const bytes = await readFile(path);
    // The file may have grown since stat.
    if (bytes.length > max) return fail(`${bytes.length} bytes, more than maxRecordingBytes (${max})`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof QmpRecordingError) throw err;
    return fail(`cannot read the recording: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  return parseRecording(text, path);
}
