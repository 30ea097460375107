// mq-archive's public API: the engines behind the CLI, for custom archivers.

export type { BodyRecord, RecordKind, RecordMeta } from "./message/record.js";
export { Outbox, type OutboxOpenOptions } from "./store/outbox.js";
export type { AppendResult, NewRecord, OutboxRecord, ReadLimits, RecordLog } from "./store/record-log.js";
export type { PeerLedger, PeerRow } from "./store/peer-ledger.js";
export { SubscriberState, type DeadLetter } from "./store/state.js";
export { commitEvent, EVENT_DEFAULTS, publishEvent, publishMessage, type PublishEventResult, type PublishResult } from "./ingest/publish.js";
export { EVENT_TYPES, eventMessageId, parseEvent, type EventDefaults, type EventRecord, type EventType, type ListEvent } from "./message/event.js";
export { acceptMessage, derivedMessageId, validateListName } from "./message/rfc5322.js";
export { DAEMON_OUTBOX, Publisher, type PublisherOptions, type BoundEndpoints } from "./publisher/publisher.js";
export { Subscriber, type SinkStats, type SubscriberOptions, type SubscriberCounters } from "./subscriber/subscriber.js";
export type { Delivery } from "./subscriber/iterator.js";
export type { Sink, SinkContext, SinkRecord } from "./sinks/sink.js";
export { MaildirSink } from "./sinks/maildir.js";
export { MboxSink } from "./sinks/mbox.js";
export { EventsSink } from "./sinks/events.js";
export { ExecSink, type ExecOptions } from "./sinks/exec.js";
export { HandlerSink, type RecordHandler } from "./sinks/handler.js";
export { parseSink } from "./sinks/parse.js";
export { fingerprint, generateKeyPair, readKeyFile, readPublicKey, writeKeyFiles, type KeyPair } from "./security/keys.js";
export { readStatus, type OutboxStatus, type PeerStatus } from "./status/outbox.js";
export { createLogger, silentLogger, type Logger } from "./log.js";
export { daemonRegistry } from "./metrics/endpoint.js";
export { MetricsServer, type Health } from "./metrics/http.js";
export { parseMetricsListen, type MetricsListen } from "./metrics/listen.js";
export { serveMetrics } from "./metrics/serve.js";
export { storeTimer, subscribeMetrics, type SubscribeHealthOptions } from "./metrics/subscribe.js";
export * from "./errors.js";
