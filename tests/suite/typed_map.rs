//! Typed `.map()`: ordinary closures, recorded into `remap` programs, against the typed Rust
//! server and the TypeScript server. Each map is one round trip, and the recorded programs are
//! checked against the forms of protocol.md section 9.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use capnweb_runtime::{RpcPromise, rpc_interface, rpc_target};
use serde::{Deserialize, Serialize};

use crate::node::{self, NodeServer};
use crate::support::assert_no_leaks;
use crate::tap::{Log, sent, sent_after_first_answer, tapped_memory_pair, tapped_websocket};
use crate::typed_api::{IDLE, TestApiClient, UsersClient, typed_main};

/// A function the client hosts; the server calls it once per element.
#[rpc_interface]
pub trait Squarer {
    /// `x * x`.
    #[rpc(invoke)]
    async fn square(&self, x: u32) -> u32;
}

struct LocalSquarer(Arc<AtomicU32>);

#[rpc_target]
impl Squarer for LocalSquarer {
    async fn square(&self, x: u32) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst);
        x * x
    }
}

/// A struct of promises a mapper can return (`map_to`), and what arrives per element.
#[derive(Serialize)]
struct NamedPromise {
    id: RpcPromise<u32>,
    name: RpcPromise<String>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Named {
    id: u32,
    name: String,
}

/// Clears the log, runs `what`, and checks it was one round trip.
fn one_round_trip(log: &Log, what: &str) {
    let extra = sent_after_first_answer(log);
    assert!(
        extra.is_empty(),
        "{what}: requests sent after the first answer: {extra:?}"
    );
    log.lock().unwrap().clear();
}

fn assert_program(log: &Log, expected: &str) {
    let sent = sent(log);
    assert!(
        sent.iter().any(|m| m == expected),
        "expected the program {expected}\nsent {sent:#?}"
    );
}

async fn typed_map_cases(api: &TestApiClient, log: &Log) {
    log.lock().unwrap().clear();
    let users = api.users();
    let ids = api.list_user_ids();

    // An array, a captured capability, the element used twice: a tuple per element.
    let pairs = ids.map(|id| (id.clone(), users.get(id).name()));
    assert_eq!(
        pairs.await.unwrap(),
        [
            (1, "Ada Lovelace".to_owned()),
            (2, "Alan Turing".to_owned()),
            (3, "Grace Hopper".to_owned())
        ]
    );
    assert_program(
        log,
        r#"["push",["remap",2,[],[["import",1]],[["pipeline",-1,["get"],[["pipeline",0]]],[[["pipeline",0],["pipeline",1,["name"]]]]]]]"#,
    );
    one_round_trip(log, "ids.map(|id| (id, users.get(id).name()))");

    // A struct of promises, with the per-element type named.
    let named = ids.map_to::<Named, _>(|id| NamedPromise {
        id: id.clone(),
        name: users.get(id).name(),
    });
    assert_eq!(
        named.await.unwrap()[1],
        Named {
            id: 2,
            name: "Alan Turing".into()
        }
    );
    assert_program(
        log,
        r#"["push",["remap",2,[],[["import",1]],[["pipeline",-1,["get"],[["pipeline",0]]],{"id":["pipeline",0],"name":["pipeline",1,["name"]]}]]]"#,
    );
    one_round_trip(log, "map_to");

    // A nested map, whose capture names the enclosing mapper's capture.
    let friends = ids.map(|id| users.get(id).friend_ids().map(|fid| users.get(fid).name()));
    assert_eq!(
        friends.await.unwrap(),
        [
            vec!["Alan Turing", "Grace Hopper"],
            vec!["Ada Lovelace"],
            vec!["Ada Lovelace", "Alan Turing"]
        ]
    );
    assert_program(
        log,
        concat!(
            r#"["push",["remap",2,[],[["import",1]],[["pipeline",-1,["get"],[["pipeline",0]]],["pipeline",1,["friendIds"],[]],"#,
            r#"["remap",2,[],[["import",-1]],[["pipeline",-1,["get"],[["pipeline",0]]],["pipeline",1,["name"]]]],["pipeline",3]]]]"#
        ),
    );
    one_round_trip(log, "nested map");

    // A capability the client hosts, called back by the server once per element.
    let calls = Arc::new(AtomicU32::new(0));
    let square = SquarerClient::new(LocalSquarer(calls.clone()));
    let squares = ids.map(|id| square.square(id));
    assert_eq!(squares.await.unwrap(), [1, 4, 9]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_program(
        log,
        r#"["push",["remap",2,[],[["export",-1]],[["pipeline",-1,[],[["pipeline",0]]],["pipeline",1]]]]"#,
    );
    drop(square);
    log.lock().unwrap().clear();

    // Option: null passes through, a value is mapped once.
    let nobody = users.find("nobody").map(|u| u.client().email());
    let grace = users.find("Grace Hopper").map(|u| u.client().email());
    assert_eq!(nobody.await.unwrap(), None);
    assert_eq!(grace.await.unwrap(), Some("grace@example.com".to_owned()));
    log.lock().unwrap().clear();

    // A single value, mapped once.
    let bio = api
        .users()
        .get(1)
        .profile()
        .map_value(|p| p.get::<String>("bio"));
    assert_eq!(bio.await.unwrap(), "First programmer");
    log.lock().unwrap().clear();

    // Returning an outside capability itself (capnweb 0.12.0's recorder breaks here).
    let with_users = ids.map(|id| (id, users.clone()));
    let with_users: Vec<(u32, UsersClient)> = with_users.await.unwrap();
    assert_eq!(with_users[0].0, 1);
    assert_eq!(with_users[2].1.get(2).name().await.unwrap(), "Alan Turing");
    assert_program(
        log,
        r#"["push",["remap",2,[],[["import",1]],[[[["pipeline",0],["import",-1]]]]]]"#,
    );
    drop(with_users);
    drop((users, ids));
}

async fn peer_clean(api: &TestApiClient) {
    for _ in 0..300 {
        if api.stats().await.unwrap() == IDLE {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the peer's tables are not clean: {:?}", api.stats().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_map_against_the_typed_rust_server() {
    let (main, slot) = typed_main();
    let (client, server, log) = tapped_memory_pair(main, &slot);
    let api = TestApiClient::from(client.main());
    typed_map_cases(&api, &log).await;
    peer_clean(&api).await;
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_map_against_the_typescript_server() {
    let node = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let (client, log) = tapped_websocket(&node.ws_url()).await;
    let api = TestApiClient::from(client.main());
    typed_map_cases(&api, &log).await;
    peer_clean(&api).await;
    drop(api);
    assert_no_leaks(&[&client]).await;
}
