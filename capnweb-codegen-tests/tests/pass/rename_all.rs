//! `rename_all` on the interface and `name` on a method decide the wire names.

use capnweb::{RpcError, rpc_interface, rpc_target};

#[rpc_interface(rename_all = "snake_case")]
pub trait Snake {
    async fn get_user_name(&self) -> String;
    #[rpc(name = "explicitName")]
    async fn overridden(&self) -> String;
}

#[rpc_interface(rename_all = "PascalCase")]
pub trait Pascal {
    async fn get_user_name(&self) -> String;
}

#[rpc_interface(rename_all = "SCREAMING-KEBAB-CASE")]
pub trait Kebab {
    async fn get_user_name(&self) -> String;
}

struct Impl;

#[rpc_target]
impl Snake for Impl {
    async fn get_user_name(&self) -> String {
        "snake".into()
    }
    async fn overridden(&self) -> String {
        "explicit".into()
    }
}

#[rpc_target]
impl Pascal for Impl {
    async fn get_user_name(&self) -> String {
        "pascal".into()
    }
}

#[rpc_target]
impl Kebab for Impl {
    async fn get_user_name(&self) -> String {
        "kebab".into()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), RpcError> {
    let snake = SnakeClient::new(Impl);
    assert_eq!(snake.get_user_name().await?, "snake");
    let s = snake.stub();
    assert_eq!(
        s.call("get_user_name", ()).typed::<String>().await?,
        "snake"
    );
    assert_eq!(
        s.call("explicitName", ()).typed::<String>().await?,
        "explicit"
    );
    let p = PascalClient::new(Impl);
    assert_eq!(
        p.stub().call("GetUserName", ()).typed::<String>().await?,
        "pascal"
    );
    let k = KebabClient::new(Impl);
    assert_eq!(
        k.stub().call("GET-USER-NAME", ()).typed::<String>().await?,
        "kebab"
    );
    // The same client type on a capability that turns out not to have the method.
    let wrong = PascalClient::from(snake.stub().clone());
    assert_eq!(
        wrong.get_user_name().await.unwrap_err().message(),
        "'GetUserName' is not a function."
    );
    Ok(())
}
