// replay/: serves a recorded QMP session back as a QMP server on server/: reads recordings (the
// transcript of `TranscriptLog` / `--qmp-log`, qmp-shell's `-l` log), matches each request with the
// recorded one and answers with the recorded reply and events. Imports server, protocol, wire,
// errors, limits and trace; never client, simulator, proxy, launcher or cli.

export { TranscriptLog } from '../trace/index.js';
export { QmpReplay, type QmpReplayOptions, type QmpReplaySessionSummary, replaySession } from './qmp-replay.js';
export { readRecording } from './read-recording.js';
export { parseRecording, type QmpRecordedEvent, type QmpRecordedStep, type QmpRecording } from './recording.js';
export type { QmpReplayMatchOptions, QmpReplayMismatch } from './replay-connection.js';
export { firstDifference, type QmpRequestDifference } from './request-diff.js';
