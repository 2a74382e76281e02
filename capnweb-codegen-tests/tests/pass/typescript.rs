//! `#[rpc_interface(typescript)]` under the renamed runtime: the client types describe their
//! interfaces, `...Client` types are written as the interface, `Option` parameters are optional
//! and serde's attributes reach the declarations through ts-rs.

use ts_rs::TS;

#[derive(serde::Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Event {
    Joined { user_name: String },
    Left,
}

/// A room.
#[capnweb::rpc_interface(typescript, rename_all = "snake_case")]
pub trait Room {
    /// Who is here.
    #[rpc(property)]
    async fn members(&self) -> Vec<String>;
    async fn join(&self, name: Option<String>, listener: ListenerClient, since: Option<u64>)
    -> Result<(), capnweb::RpcError>;
    #[rpc(name = "last-event")]
    async fn last_event(&self) -> Option<Event>;
}

#[capnweb::rpc_interface(typescript)]
pub trait Listener {
    #[rpc(invoke)]
    async fn on_event(&self, event: Event) -> bool;
}

fn main() {
    let dts = capnweb::typescript::Declarations::new()
        .interface::<RoomClient>()
        .interface::<ListenerClient>()
        .render();
    let expected = [
        // `rename_all` on an enum renames its variants (serde), not their fields.
        r#"export type Event = { "type": "joined", user_name: string, } | { "type": "left" };"#,
        "/**\n * A room.\n */\nexport interface Room extends RpcTarget {",
        "  readonly members: Array<string>;",
        "  join(name: string | undefined, listener: Listener, since?: number | bigint): Promise<void>;",
        r#"  "last-event"(): Promise<Event | null>;"#,
        "export interface Listener extends RpcTarget {\n  (event: Event): Promise<boolean>;\n}",
    ];
    for line in expected {
        assert!(dts.contains(line), "missing {line:?} in:\n{dts}");
    }
    assert_eq!(dts.matches("export type Event").count(), 1, "declared once:\n{dts}");
}
