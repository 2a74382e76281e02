//! A chat room: clients join with an inbox the server calls, speak through the membership
//! capability `join` returns, and leave, either by saying so or by disconnecting; the others
//! see both. Run with `cargo run --example chat_room`.
//!
//! The server learns that a client disconnected without a failed call: it registers
//! `on_broken` on the client's inbox, which runs once the connection that inbox came through
//! has ended. A member that leaves properly drops that registration with its seat, and the
//! membership capability is revoked either way, so it cannot speak after leaving.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{
    OnBroken, Revoker, RpcClient, RpcError, Server, Session, rpc_interface, rpc_target,
};
use tokio::sync::mpsc;

#[rpc_interface]
trait Lobby {
    /// Joins as `name`; `inbox` hears what happens in the room from now on.
    async fn join(&self, name: String, inbox: InboxClient) -> Result<MemberClient, RpcError>;
}

/// What `join` hands back: the right to speak in the room, as that member.
#[rpc_interface]
trait Member {
    async fn say(&self, text: String);
    async fn leave(&self);
}

/// Implemented by each client.
#[rpc_interface]
trait Inbox {
    async fn joined(&self, name: String);
    async fn message(&self, from: String, text: String);
    async fn left(&self, name: String, how: String);
}

/// The one room every session's lobby leads to.
#[derive(Default)]
struct Room {
    seats: Mutex<BTreeMap<String, Seat>>,
}

struct Seat {
    inbox: InboxClient,
    /// Revokes the membership capability handed out by `join`, so it is useless after leaving.
    membership: Revoker,
    /// Removes the member when its connection ends; dropped (unregistered) when it leaves.
    _on_disconnect: OnBroken,
}

impl Room {
    /// Calls `notify` on every inbox but `except`'s. The calls are not awaited: each goes out
    /// at once, in order per inbox, and a member that is gone just misses it.
    fn broadcast(&self, except: &str, notify: impl Fn(&InboxClient)) {
        for (name, seat) in self.seats.lock().unwrap().iter() {
            if name != except {
                notify(&seat.inbox);
            }
        }
    }

    fn remove(&self, name: &str, how: &str) {
        let seat = self.seats.lock().unwrap().remove(name);
        if let Some(seat) = &seat {
            seat.membership.revoke();
            println!("[server] {name} {how}");
            self.broadcast(name, |inbox| drop(inbox.left(name, how)));
        }
        // The seat (and its registration) is dropped here, outside the lock.
    }
}

struct Door(Arc<Room>);

#[rpc_target]
impl Lobby for Door {
    async fn join(&self, name: String, inbox: InboxClient) -> Result<MemberClient, RpcError> {
        let room: Weak<Room> = Arc::downgrade(&self.0);
        let leaver = name.clone();
        let on_disconnect = inbox.on_broken(move |_reason| {
            if let Some(room) = room.upgrade() {
                room.remove(&leaver, "disconnected");
            }
        });
        let (member, membership) = MemberClient::new(Membership {
            room: self.0.clone(),
            name: name.clone(),
        })
        .revocable();
        {
            let mut seats = self.0.seats.lock().unwrap();
            if seats.contains_key(&name) {
                return Err(RpcError::new(
                    "NameTaken",
                    format!("{name} is already here"),
                ));
            }
            seats.insert(
                name.clone(),
                Seat {
                    inbox,
                    membership,
                    _on_disconnect: on_disconnect,
                },
            );
        }
        println!("[server] {name} joined");
        self.0
            .broadcast(&name, |inbox| drop(inbox.joined(name.as_str())));
        Ok(member)
    }
}

struct Membership {
    room: Arc<Room>,
    name: String,
}

#[rpc_target]
impl Member for Membership {
    async fn say(&self, text: String) {
        self.room.broadcast(&self.name, |inbox| {
            drop(inbox.message(self.name.as_str(), text.as_str()))
        });
    }

    async fn leave(&self) {
        self.room.remove(&self.name, "left");
    }
}

/// A client's inbox: prints what arrives and passes it on to the client's main task.
struct Printer {
    me: &'static str,
    events: mpsc::UnboundedSender<String>,
}

impl Printer {
    fn note(&self, event: String) {
        println!("[{}] {event}", self.me);
        let _ = self.events.send(event);
    }
}

#[rpc_target]
impl Inbox for Printer {
    async fn joined(&self, name: String) {
        self.note(format!("{name} joined"));
    }

    async fn message(&self, from: String, text: String) {
        self.note(format!("{from}: {text}"));
    }

    async fn left(&self, name: String, how: String) {
        self.note(format!("{name} {how}"));
    }
}

/// One connected client.
struct Client {
    session: Session,
    member: MemberClient,
    events: mpsc::UnboundedReceiver<String>,
}

impl Client {
    async fn join(url: &str, me: &'static str) -> Result<Client, RpcError> {
        let session = websocket::connect(url).await?;
        let (events, receiver) = mpsc::unbounded_channel();
        let inbox = InboxClient::new(Printer { me, events });
        let member = LobbyClient::from(session.main())
            .join(me, inbox)
            .resolve()
            .await?;
        Ok(Client {
            session,
            member,
            events: receiver,
        })
    }

    /// Waits (at most 5 s) for the next event and checks it is `expected`.
    async fn expect(&mut self, expected: &str) -> Result<(), Box<dyn std::error::Error>> {
        let event = tokio::time::timeout(Duration::from_secs(5), self.events.recv()).await?;
        match event {
            Some(event) if event == expected => Ok(()),
            other => Err(format!("expected {expected:?}, got {other:?}").into()),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let room = Arc::new(Room::default());
    let lobby_room = room.clone();
    let server = Server::builder(move |_context| LobbyClient::new(Door(lobby_room.clone())).into())
        .bind("127.0.0.1:0")
        .await?;
    let url = format!("ws://{}/", server.local_addr());

    let mut alice = Client::join(&url, "alice").await?;
    let mut bob = Client::join(&url, "bob").await?;
    alice.expect("bob joined").await?;
    let mut carol = Client::join(&url, "carol").await?;
    alice.expect("carol joined").await?;
    bob.expect("carol joined").await?;

    bob.member.say("hi all").await?;
    alice.expect("bob: hi all").await?;
    carol.expect("bob: hi all").await?;

    // Carol leaves properly.
    carol.member.leave().await?;
    alice.expect("carol left").await?;
    bob.expect("carol left").await?;
    let refused = carol.member.say("anyone?").await.unwrap_err();
    println!("[carol] say(..) after leaving: {refused}");
    drop(carol);

    // Bob's connection ends without a word (his process died, say).
    println!("[bob] closes the connection without leaving");
    bob.session.close();
    drop(bob);
    alice.expect("bob disconnected").await?;

    alice.member.leave().await?;
    println!(
        "[server] members still seated: {}",
        room.seats.lock().unwrap().len()
    );
    drop(alice);
    server.shutdown().await;
    Ok(())
}
