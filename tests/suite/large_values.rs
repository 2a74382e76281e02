//! Large plain values: a receiver keeps them as wire text, typed code reads its own types
//! straight from that text, and code that takes trees still gets trees.

use std::sync::{Arc, Mutex};

use capnweb_runtime::transport::memory;
use capnweb_runtime::{
    Args, CallFuture, RpcClient, RpcError, RpcTarget, Session, Stub, Value, rpc_interface,
    rpc_target, to_value,
};
use serde::{Deserialize, Serialize};

use crate::support::assert_no_leaks;
use crate::typed_api::TestApiClient;

/// One row of [`Table`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Row {
    id: u32,
    label: String,
    nested: Vec<Vec<u32>>,
    ok: bool,
    ratio: f64,
    note: Option<String>,
}

/// A record whose wire text is a few KiB.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Table {
    title: String,
    rows: Vec<Row>,
}

fn table() -> Table {
    Table {
        title: "large \"table\" ✓".into(),
        rows: (0..40)
            .map(|i| Row {
                id: i,
                label: format!("row {i}\n\t\\"),
                nested: vec![vec![i], vec![], vec![i, i + 1]],
                ok: i % 2 == 0,
                ratio: f64::from(i) / 3.0,
                note: (i % 3 == 0).then(|| "🦀".to_string()),
            })
            .collect(),
    }
}

/// The test API's `echo` seen through one record type.
#[rpc_interface]
pub trait TableEcho {
    /// Its argument, unchanged.
    async fn echo(&self, table: Table) -> Table;
}

/// A typed client's large records against any server of the test API: the result is read
/// straight into `Table`, and a pipelined property read walks into the large result.
pub(crate) async fn large_records(api: &TestApiClient) -> Result<(), RpcError> {
    let echo = TableEchoClient::from_stub(api.stub().clone());
    let sent = table();
    let echoed = echo.echo(sent.clone());
    let title: String = echoed.get("title").await?;
    assert_eq!(title, sent.title);
    assert_eq!(echoed.await?, sent);
    Ok(())
}

/// A typed server: `echo` reads its argument straight from the received text.
struct TypedEcho;

#[rpc_target]
impl TableEcho for TypedEcho {
    async fn echo(&self, table: Table) -> Table {
        table
    }
}

/// A hand-written server that reads its large argument both ways: as a tree and as a type.
#[derive(Default)]
struct ArgReads {
    reads: Mutex<Vec<(usize, Value, Table)>>,
}

impl RpcTarget for ArgReads {
    fn call(self: Arc<Self>, _method: &str, args: Args) -> CallFuture {
        let tree = args.value(0);
        let typed = args.get::<Table>(0);
        let result = typed.map(|typed| {
            self.reads
                .lock()
                .unwrap()
                .push((args.len(), tree.clone(), typed));
            tree
        });
        Box::pin(std::future::ready(result))
    }
}

#[tokio::test]
async fn typed_client_and_typed_server_share_large_records() {
    let (a, b) = memory::pair();
    let server = Session::new(b, Some(TableEchoClient::new(TypedEcho).into()));
    let client = Session::new(a, None);
    let echo = TableEchoClient::from_stub(client.main());
    let sent = table();
    assert_eq!(echo.echo(sent.clone()).await.unwrap(), sent);
    let echoed = echo.echo(sent.clone());
    let rows: Vec<Row> = echoed.get("rows").await.unwrap();
    assert_eq!(rows, sent.rows);
    drop((echoed, echo));
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn hand_written_targets_read_large_arguments_as_trees_or_types() {
    let (a, b) = memory::pair();
    let target = Arc::new(ArgReads::default());
    let server = Session::new(b, Some(Stub::from_arc(target.clone())));
    let client = Session::new(a, None);
    let echo = TableEchoClient::from_stub(client.main());
    let sent = table();
    assert_eq!(echo.echo(sent.clone()).await.unwrap(), sent);
    let reads = std::mem::take(&mut *target.reads.lock().unwrap());
    assert_eq!(reads.len(), 1);
    let (count, tree, typed) = &reads[0];
    assert_eq!(*count, 1);
    assert_eq!(*tree, to_value(&sent).unwrap());
    assert_eq!(*typed, sent);
    drop(echo);
    assert_no_leaks(&[&client, &server]).await;
}
