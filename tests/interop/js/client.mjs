// A nostr-tools client run by tests/interop/test_nostr_tools.py against `rxnostr relay`.
//
//   node client.mjs <relay-url> [<event-id-published-by-python> ...]
//
// Publishes a few events signed by nostr-tools' finalizeEvent, publishes one of them again,
// subscribes (its own events plus the ids given) until EOSE, publishes one more event and
// waits for it to arrive live on the open subscription. Every step is one JSON line on
// stdout, for the Python test to assert on:
//
//   {"type":"hello","pubkey":...}                 the key this run signs with
//   {"type":"ok","id":...,"accepted":bool,"reason":...,"step":"publish"|"duplicate"|"live"}
//   {"type":"event","event":{...}}                passed nostr-tools' filter and verifyEvent
//   {"type":"invalid","event":{...}}              failed them (never expected)
//   {"type":"notice","message":...} / {"type":"closed","reason":...}
//   {"type":"eose"} / {"type":"live","id":...} / {"type":"done"}
//   {"type":"error","message":...}                then exit code 1
//
// Node 20 has no global WebSocket: `ws` is handed to nostr-tools. Signatures ARE checked
// on the way in (nostr-tools' own verifyEvent, pure JS); a failure is reported as an
// "invalid" line instead of the event being dropped silently.

import WebSocket from "ws";
import { AbstractRelay } from "nostr-tools/abstract-relay";
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";

const OVERALL_TIMEOUT_MS = 15000;
const [url, ...pythonIds] = process.argv.slice(2);

function emit(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

function fail(message) {
  emit({ type: "error", message: String(message) });
  process.exit(1);
}

if (!url) fail("usage: node client.mjs <relay-url> [event-id ...]");
const watchdog = setTimeout(() => fail(`no result within ${OVERALL_TIMEOUT_MS} ms`), OVERALL_TIMEOUT_MS);

const secretKey = generateSecretKey();
const pubkey = getPublicKey(secretKey);
emit({ type: "hello", pubkey });

const relay = new AbstractRelay(url, {
  verifyEvent,
  websocketImplementation: WebSocket,
  enableReconnect: false,
});
relay.onnotice = (message) => emit({ type: "notice", message });
relay.publishTimeout = 5000;

async function publish(event, step) {
  try {
    const reason = await relay.publish(event);
    emit({ type: "ok", id: event.id, accepted: true, reason, step });
  } catch (err) {
    emit({ type: "ok", id: event.id, accepted: false, reason: err.message, step });
  }
}

function note(n, extra = {}) {
  const now = Math.floor(Date.now() / 1000);
  return finalizeEvent(
    {
      kind: 1,
      created_at: now - 10 + n,
      tags: [
        ["t", "rxnostr-interop"],
        ["client", "nostr-tools"],
      ],
      // Escaping round trip: quotes, backslash, slash, control and non-ASCII characters.
      content: `note ${n} from nostr-tools: "quoted" \\ back/slash\nnew line ☕ ünïcödé 🎉`,
      ...extra,
    },
    secretKey,
  );
}

try {
  await relay.connect({ timeout: 5000 });
  const published = [note(0), note(1), note(2)];
  for (const event of published) await publish(event, "publish");
  await publish(published[0], "duplicate");

  const live = note(5, { content: "live after EOSE" });
  const filters = [{ authors: [pubkey] }];
  if (pythonIds.length) filters.push({ ids: pythonIds });
  let livePublished = null;
  await new Promise((resolve, reject) => {
    const sub = relay.subscribe(filters, {
      onevent(event) {
        if (event.id === live.id) {
          emit({ type: "live", id: event.id });
          sub.close();
          resolve();
        } else {
          emit({ type: "event", event });
        }
      },
      oninvalidevent(event) {
        emit({ type: "invalid", event });
      },
      oneose() {
        emit({ type: "eose" });
        livePublished = publish(live, "live");
        livePublished.catch(reject);
      },
      onclose(reason) {
        emit({ type: "closed", reason });
      },
      eoseTimeout: 5000,
    });
  });
  await livePublished;
  relay.close();
  clearTimeout(watchdog);
  emit({ type: "done" });
} catch (err) {
  fail(err && err.stack ? err.stack : err);
}
