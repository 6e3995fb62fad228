// wire/: QEMU's JSON dialect, both directions. Client side: a streaming splitter that takes any byte
// chunks and yields whole messages with lossless integers, and an ASCII-safe compact encoder. Server
// side: QEMU's lexer/streamer/parser with its exact errors and limits, and QEMU's writer (QDict member
// order, %.17g floats, CRLF, pretty=on). Pure and synchronous. Imports only errors/ and limits.

export { formatDouble } from './format-double.js';
export { decodeJson, decodeJsonLossless, type JsonDecodeOptions } from './json-decoder.js';
export { encodeJson, encodeMessage, encodeQValue, encodeQValueBytes } from './json-encoder.js';
export { type JsonSplitItem, JsonSplitter, type JsonSplitterOptions } from './json-splitter.js';
export { compactJsonText, jsonMemberText } from './json-text.js';
export type { JsonObject, JsonValue } from './json-value.js';
export { QNum, type QValue, RawJson } from './q-value.js';
export { qdictHash, qdictOrder } from './qdict-order.js';
export { QemuJsonParser, type QemuJsonParserOptions, type QemuParseItem } from './qemu-json-parser.js';
export { formatQemuMessage, type QemuWriteOptions, quoteQemuString, writeQemuJson } from './qemu-json-writer.js';
