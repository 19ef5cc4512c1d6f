//! Each replica's one subscription to Redis, on two channels: released lock keys (which
//! wake this replica's lock waiters, `wake.rs`) and broadcasts between replicas (purges,
//! `cache/purge.rs`), handed to the one listener set with `Shared::on_broadcast`.
//!
//! A broadcast that must not be missed (a purge) is also appended to a capped Redis
//! stream ([`LOG`]) before it is published, under the stream's entry id. A replica whose
//! subscription broke and was made again reads what it missed from the stream (entries
//! after the last id it saw), so that a purge published during a reconnection still
//! reaches it. Messages that only matter now (a question to the live replicas) are
//! published without an id.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use futures_util::StreamExt;

use super::wake::{self, Wakeups};

/// The channel of broadcasts between replicas.
pub const BROADCASTS: &str = "modgate:broadcast";
/// The stream of broadcasts kept for replicas that were not listening (capped).
pub const LOG: &str = "modgate:broadcast-log";
/// About how many broadcasts the stream keeps.
pub const LOG_ENTRIES: usize = 1000;
/// Pause before the subscription is made again after it failed or ended.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// What receives the broadcasts of other replicas (and this one's own).
pub type Listener = Box<dyn Fn(&[u8]) + Send + Sync>;

/// The listener and the last logged broadcast this replica has seen.
#[derive(Default)]
pub struct Broadcasts {
    pub(super) listener: OnceLock<Listener>,
    /// The stream id of the last logged broadcast delivered here (`None`: not known yet).
    last: Mutex<Option<(u64, u64)>>,
}

impl Broadcasts {
    /// Delivers a message as published: `<id>\n<body>`, `-` for an id when the message
    /// is not logged. A logged message already delivered (seen in the stream after a
    /// reconnection, then published late) is delivered once.
    fn deliver(&self, payload: &[u8]) {
        let Some(nl) = payload.iter().position(|b| *b == b'\n') else {
            return;
        };
        let (id, body) = (&payload[..nl], &payload[nl + 1..]);
        if let Some(id) = std::str::from_utf8(id).ok().and_then(parse_id)
            && !self.advance(id)
        {
            return;
        }
        if let Some(l) = self.listener.get() {
            l(body);
        }
    }

    /// Notes `id` as seen; false when it was seen before.
    fn advance(&self, id: (u64, u64)) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(l) if l >= id => false,
            _ => {
                *last = Some(id);
                true
            }
        }
    }

    fn last(&self) -> Option<(u64, u64)> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Stream entries as XRANGE gives them: each id with its fields.
type Entries = Vec<(String, Vec<(String, Vec<u8>)>)>;

/// A stream entry id, `<milliseconds>-<sequence>`.
pub fn parse_id(s: &str) -> Option<(u64, u64)> {
    let (ms, seq) = s.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// Keeps the subscription to [`wake::CHANNEL`] and [`BROADCASTS`] for as long as
/// `wakeups` lives: wakes the waiters a release names, hands broadcasts to the listener,
/// and after each reconnection reads the logged broadcasts it missed.
pub async fn keep(client: redis::Client, wakeups: Weak<Wakeups>, broadcasts: Arc<Broadcasts>) {
    loop {
        if wakeups.strong_count() == 0 {
            return;
        }
        // The first time, where the log ends now, before subscribing: what is published
        // from here on is read from the log or heard, never skipped.
        if broadcasts.last().is_none() {
            note_end(&client, &broadcasts).await;
        }
        let connected = tokio::time::timeout(super::CALL_WITHIN, client.get_async_pubsub()).await;
        if let Ok(Ok(mut pubsub)) = connected {
            let subscribed = tokio::time::timeout(
                super::CALL_WITHIN,
                pubsub.subscribe(&[wake::CHANNEL, BROADCASTS]),
            )
            .await;
            if let Ok(Ok(())) = subscribed {
                // Subscribed: from here on nothing published is missed; what was
                // published before, since the last one seen, is read from the log.
                catch_up(&client, &broadcasts).await;
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let Some(w) = wakeups.upgrade() else { return };
                    let payload: Vec<u8> = msg.get_payload_bytes().to_vec();
                    if msg.get_channel_name() == BROADCASTS {
                        broadcasts.deliver(&payload);
                    } else if let Ok(key) = String::from_utf8(payload) {
                        w.wake(&key);
                    }
                }
            }
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}

/// The entries a read of the log (`cmd`) gives, on a connection of its own, bounded;
/// `None` when Redis does not answer.
async fn read_log(client: &redis::Client, cmd: &redis::Cmd) -> Option<Entries> {
    let read = async {
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        cmd.query_async(&mut conn).await.ok()
    };
    tokio::time::timeout(super::CALL_WITHIN * 2, read)
        .await
        .ok()?
}

/// Notes where the log ends as the last broadcast seen (a replica that just started has
/// nothing to purge); nothing when Redis does not answer (tried again before the next
/// subscription).
async fn note_end(client: &redis::Client, broadcasts: &Broadcasts) {
    let mut newest = redis::cmd("XREVRANGE");
    newest.arg(LOG).arg("+").arg("-").arg("COUNT").arg(1);
    if let Some(entries) = read_log(client, &newest).await {
        let id = entries
            .into_iter()
            .next()
            .and_then(|(id, _)| parse_id(&id))
            .unwrap_or((0, 0));
        broadcasts.advance(id);
    }
}

/// Reads the broadcasts logged after the last one seen here and delivers them.
async fn catch_up(client: &redis::Client, broadcasts: &Broadcasts) {
    let Some((ms, seq)) = broadcasts.last() else {
        return;
    };
    let mut after = redis::cmd("XRANGE");
    after.arg(LOG).arg(format!("({ms}-{seq}")).arg("+");
    let missed = read_log(client, &after).await;
    for (id, fields) in missed.unwrap_or_default() {
        for (_, body) in fields {
            let mut payload = id.clone().into_bytes();
            payload.push(b'\n');
            payload.extend_from_slice(&body);
            broadcasts.deliver(&payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_broadcast_is_delivered_once_and_an_unlogged_one_always() {
        let b = Broadcasts::default();
        let got = Arc::new(Mutex::new(Vec::<String>::new()));
        let g = Arc::clone(&got);
        let _ = b.listener.set(Box::new(move |body: &[u8]| {
            g.lock()
                .unwrap()
                .push(String::from_utf8_lossy(body).into_owned())
        }));
        b.deliver(b"5-0\none");
        b.deliver(b"5-0\none");
        b.deliver(b"4-9\nolder");
        b.deliver(b"-\nask");
        b.deliver(b"-\nask");
        b.deliver(b"5-1\ntwo");
        b.deliver(b"no newline");
        assert_eq!(*got.lock().unwrap(), ["one", "ask", "ask", "two"]);
        assert_eq!(b.last(), Some((5, 1)));
        assert_eq!(parse_id("1700000000000-3"), Some((1_700_000_000_000, 3)));
        assert_eq!(parse_id("17"), None);
    }
}
